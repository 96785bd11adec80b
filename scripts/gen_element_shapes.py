"""Generate app/data/element-shapes.json from the R4 StructureDefinitions (build-time script)."""
import json
sd = json.load(open('/work/shared/fhir-r4/structure-definitions.json'))
PRIMS = {'boolean': 'boolean', 'integer': 'integer', 'positiveInt': 'integer', 'unsignedInt': 'integer',
         'decimal': 'decimal'}
out = {}
for e in sd['entry']:
    r = e['resource']
    if r.get('kind') not in ('resource', 'complex-type') or r['id'] in ('DomainResource',):
        continue
    for el in r['snapshot']['element']:
        path = el['path']
        parts = path.split('.')
        if len(parts) < 2:
            continue
        parent = '.'.join(parts[:-1])
        name = parts[-1]
        many = el.get('max') == '*'
        types = [t['code'] for t in el.get('type', [])]
        if 'contentReference' in el:
            target = el['contentReference'].lstrip('#')
            out.setdefault(parent, {})[name] = [many, 'S:' + target]
            continue
        for code in types:
            if code.startswith('http://hl7.org/fhirpath/System.'):
                kind = 'P:string'  # id/url/extension ids, value of primitives
            elif code in ('BackboneElement', 'Element'):
                kind = 'S:' + path
            elif code[0].islower():
                kind = 'P:' + PRIMS.get(code, 'string')
            elif code == 'Resource':
                kind = 'R'
            else:
                kind = 'S:' + code
            key = name.replace('[x]', code[0].upper() + code[1:]) if name.endswith('[x]') else name
            out.setdefault(parent, {})[key] = [many, kind]
json.dump(out, open('app/data/element-shapes.json', 'w'), separators=(',', ':'), sort_keys=True)
print(len(out), out['Patient']['active'], out['Patient']['contact'], out['Extension'].get('valueBoolean'))
