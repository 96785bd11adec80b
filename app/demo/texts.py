"""Bokmål phrase pools for synthetic plans; combined at random so no two plans read the same."""

from __future__ import annotations

import random

FIRST_F = (
    "Ingrid",
    "Kari",
    "Nora",
    "Emma",
    "Sara",
    "Ida",
    "Maria",
    "Hanne",
    "Silje",
    "Marte",
    "Line",
    "Tone",
    "Anne",
    "Camilla",
    "Heidi",
    "Ragnhild",
    "Sunniva",
    "Thea",
    "Aisha",
    "Leila",
)
FIRST_M = (
    "Ole",
    "Lars",
    "Jonas",
    "Erik",
    "Magnus",
    "Henrik",
    "Kristian",
    "Anders",
    "Per",
    "Jan",
    "Tor",
    "Sindre",
    "Espen",
    "Morten",
    "Thomas",
    "Even",
    "Håkon",
    "Ali",
    "Mohammed",
    "Emil",
)
FAMILY = (
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Lund",
    "Sørensen",
    "Bakken",
    "Moen",
    "Strand",
    "Solberg",
    "Ahmed",
    "Nguyen",
)
STREETS = (
    "Storgata",
    "Kirkeveien",
    "Skolegata",
    "Parkveien",
    "Fjordveien",
    "Bjørkeveien",
    "Granstien",
    "Sjøgata",
    "Industriveien",
    "Elvegata",
    "Solbakken",
    "Tunveien",
)
# (kommune name, kommunenummer, postnummer, poststed)
PLACES = (
    ("Vestby", "3019", "1540", "Vestby"),
    ("Ringsaker", "3411", "2380", "Brumunddal"),
    ("Kristiansand", "4204", "4611", "Kristiansand"),
    ("Bodø", "1804", "8006", "Bodø"),
    ("Sandnes", "1108", "4306", "Sandnes"),
    ("Gjøvik", "3407", "2815", "Gjøvik"),
    ("Molde", "1506", "6413", "Molde"),
    ("Tromsø", "5501", "9008", "Tromsø"),
    ("Drammen", "3301", "3015", "Drammen"),
    ("Porsgrunn", "4001", "3915", "Porsgrunn"),
    ("Lillehammer", "3405", "2609", "Lillehammer"),
    ("Haugesund", "1106", "5525", "Haugesund"),
)

EARLY_SIGNS = (
    "Sover dårlig flere netter på rad og blir liggende våken med urolige tanker.",
    "Trekker seg unna venner og familie og svarer ikke på telefon.",
    "Slutter å møte til avtaler hos teamet og på NAV.",
    "Øker bruken av alkohol og piller, særlig i helgene.",
    "Blir irritabel og krangler mer med naboer og pårørende.",
    "Hører stemmer som blir sterkere om kvelden.",
    "Spiser lite og slutter å handle mat.",
    "Bruker mye penger på kort tid og får ubetalte regninger.",
    "Snakker om at alt er meningsløst og at det ikke nytter.",
    "Blir mistenksom overfor hjelpeapparatet og tror andre vil ham eller henne vondt.",
)
SELF_HELP = (
    "Ringe søsteren sin og avtale å møtes.",
    "Gå tur med hunden morgen og kveld, også når det er tungt.",
    "Lytte til musikk og bruke pusteøvelser fra mestringskurset.",
    "Holde seg borte fra miljøet ved jernbanestasjonen.",
    "Ta medisinene til faste tider og bruke dosetten.",
    "Gå på treningssenteret sammen med miljøarbeider på tirsdager.",
    "Sette opp en enkel dagsplan med faste måltider.",
    "Be om ekstra samtale med teamet før helgen.",
    "Unngå å være alene med alkohol i leiligheten.",
)
CONTACTS = (
    "Ved krise på dagtid: ring FACT-teamet på 22 33 44 55.",
    "Kveld, natt og helg: ring legevakten på 116 117.",
    "Ved fare for liv: ring 113.",
    "Fastlegen kan kontaktes på kontorets telefon mellom 08 og 15.",
    "Mental Helse hjelpetelefon 116 123 er åpen hele døgnet.",
    "Miljøarbeider i boligtjenesten kan nås på mobil i arbeidstiden.",
)
RESPONSIBILITY = (
    "FACT-teamet har hovedansvar for oppfølging og kontakter pasienten ved bekymring.",
    "Kommunens rus- og psykiatritjeneste følger opp bolig og daglige gjøremål.",
    "DPS har ansvar for medisinsk behandling og vurdering av innleggelse.",
    "Fastlegen har ansvar for somatisk helse og legemiddelgjennomgang.",
    "NAV-veileder følger opp økonomi og arbeidsrettede tiltak.",
    "TSB har ansvar for rusbehandling og vurdering av avrusning.",
    "Legevakten vurderer akutt innleggelse utenfor kontortid.",
)
NEXT_OF_KIN = (
    "Moren kan ringe teamet direkte dersom hun er bekymret.",
    "Søsteren kan være sammen med pasienten de første dagene etter utskrivelse.",
    "Pårørende ønsker informasjon om hvem som har vakt i helgene.",
    "Samboeren kan hjelpe med å holde oversikt over medisinene.",
    "Pårørende kan kontakte pårørendesenteret for samtale og støtte.",
)
CHILDREN_PETS = (
    "Ingen barn. Naboen passer katten ved innleggelse.",
    "Barna bor hos far. Barnevernet er informert og kjenner til planen.",
    "Hunden passes av broren ved behov.",
    "Ingen barn eller dyr.",
    "Datteren bor hos mormor i perioder; mormor har nøkkel til leiligheten.",
)
UNWANTED = (
    "Ønsker ikke å bli hentet av politiet hjemme hvis det kan unngås.",
    "Vil ikke ha benzodiazepiner ved innleggelse.",
    "Vil ikke at arbeidsgiver skal kontaktes.",
    "Ønsker ikke tvangsinnleggelse ved sykehuset; foretrekker frivillig opphold på DPS.",
    "Vil ikke at faren skal informeres.",
)
VIOLENCE = (
    "Tidligere episoder med trusler ved rus. Møter med to ansatte ved tegn på uro.",
    "Ingen kjent voldsrisiko, men kan bli utagerende ved sterk angst.",
)
SECTIONS: dict[str, tuple[str, ...]] = {
    "tidlige-tegn": EARLY_SIGNS,
    "egenmestring": SELF_HELP,
    "kontakter": CONTACTS,
    "tjenesteansvar": RESPONSIBILITY,
    "parorende": NEXT_OF_KIN,
    "barn-og-dyr": CHILDREN_PETS,
    "uonskede-tiltak": UNWANTED,
    "voldsrisiko": VIOLENCE,
}
SECTION_TITLES = {
    "tidlige-tegn": "Tidlige tegn",
    "egenmestring": "Hva jeg selv kan gjøre",
    "kontakter": "Hvem kontakter jeg",
    "tjenesteansvar": "Tjenestenes ansvar",
    "parorende": "Pårørende",
    "barn-og-dyr": "Barn og dyr",
    "uonskede-tiltak": "Uønskede tiltak",
    "voldsrisiko": "Voldsrisiko",
}

# (domain code, display, measures)
MEASURES: dict[str, tuple[str, ...]] = {
    "helse": (
        "Regelmessig legemiddelgjennomgang hos fastlegen.",
        "Tannbehandling via kommunens tilbud.",
    ),
    "rus": (
        "Samtaler med ruskonsulent hver uke.",
        "Legemiddelassistert rehabilitering (LAR) følges opp.",
        "Vurdering av døgnbehandling i TSB.",
    ),
    "psykisk-helse": (
        "Samtaleterapi hos psykolog annenhver uke.",
        "Kurs i mestring av angst.",
        "Oppfølging av antipsykotisk medisinering.",
    ),
    "somatisk-helse": ("Årlig helsesjekk med blodprøver.", "Oppfølging av diabetes hos fastlegen."),
    "bolig": (
        "Søknad om kommunal bolig.",
        "Bistand fra boligtjenesten to ganger i uken (Housing First).",
    ),
    "arbeid-aktivitet": (
        "Arbeidsrettet oppfølging med IPS-jobbspesialist.",
        "Deltakelse i aktivitetstilbud på dagsenteret.",
    ),
    "okonomi": ("Frivillig forvaltning av økonomi via NAV.", "Gjeldsrådgivning."),
    "sosialt-nettverk": ("Støttekontakt en kveld i uken.", "Delta i selvhjelpsgruppe."),
    "utdanning": ("Fullføre fagbrev gjennom voksenopplæringen.",),
    "annet": ("Hjelp til å skaffe ny legitimasjon.", "Følge opp saker hos kriminalomsorgen."),
}
DOMAIN_TITLES = {
    "helse": "Helse",
    "rus": "Rus",
    "psykisk-helse": "Psykisk helse",
    "somatisk-helse": "Somatisk helse",
    "bolig": "Bolig",
    "arbeid-aktivitet": "Arbeid og aktivitet",
    "okonomi": "Økonomi",
    "sosialt-nettverk": "Sosialt nettverk",
    "utdanning": "Utdanning",
    "annet": "Annet",
}
GOALS = (
    "Bo stabilt i egen leilighet det neste året.",
    "Redusere rusbruken og ha rusfrie helger.",
    "Komme i jobb eller arbeidspraksis innen et halvt år.",
    "Ha bedre kontakt med barna.",
    "Unngå innleggelser ved å bruke kriseplanen tidlig.",
    "Få orden på økonomien og betale ned gjeld.",
    "Sove bedre og ha faste måltider.",
    "Få et nettverk utenfor rusmiljøet.",
)
NOTES = (
    "Planen er laget sammen med pasienten i ansvarsgruppemøte.",
    "Pasienten har fått planen på papir og i Helsenorge.",
    "Planen gjennomgås på neste møte i ansvarsgruppen.",
    "Revidert etter innleggelse; nye tidlige tegn lagt inn.",
)
REVISIONS = (
    "Oppdatert etter evalueringsmøte.",
    "Nytt telefonnummer til teamet.",
    "Justert etter samtale med pårørende.",
    "Revidert etter innleggelse på DPS.",
    "Lagt til ny kontaktperson i kommunen.",
)


def paragraph(rng: random.Random, pool: tuple[str, ...], low: int, high: int) -> str:
    """A few distinct sentences drawn from a pool."""
    count = min(len(pool), rng.randint(low, high))
    return " ".join(rng.sample(pool, count))
