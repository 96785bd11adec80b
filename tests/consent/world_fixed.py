"""The fixed world of the access matrix: Kari's team, consents, an objection, and outsiders."""

from __future__ import annotations

from tests.consent.world import (
    DOMENE,
    SEKSJON,
    Actor,
    ConsentM,
    Org,
    Plan,
    Prac,
    Team,
    World,
    number,
    uid,
)

KP_SECTIONS = [(SEKSJON, c) for c in ("tidlige-tegn", "egenmestring", "kontakter",
                                       "tjenesteansvar", "parorende", "barn-og-dyr",
                                       "uonskede-tiltak", "voldsrisiko")]
IP_DOMAINS = [(DOMENE, c) for c in ("helse", "rus", "bolig", "arbeid-aktivitet", "okonomi")]


def build() -> tuple[World, dict[str, Actor], dict[str, str]]:
    """The world, the actors by name, and named resource ids."""
    o = {n: Org(uid(n), number(9), s) for n, s in (
        ("dps", "phv"), ("kommune", "kommune"), ("tsb", "tsb"), ("legevakt", "legevakt"),
        ("fastlege", "fastlege"), ("nav", "nav"), ("annen-kommune", "kommune"))}
    unknown = Org(uid("ukjent"), number(9), None)
    p = {
        "dps": Prac(uid("lege"), number(9), o["dps"]),
        "sykepleier": Prac(uid("spl"), number(9), o["kommune"], role=uid("rolle")),
        "tsb": Prac(uid("tsb-lege"), number(9), o["tsb"]),
        "fastlege": Prac(uid("fastlege"), number(9), o["fastlege"]),
        "utenfor": Prac(uid("utenfor"), number(9), o["annen-kommune"]),
        "legevakt": Prac(uid("legevakt"), number(9), o["legevakt"]),
        "ukjent": Prac(uid("ukjent-lege"), number(9), unknown),
    }
    kari, ola = uid("kari"), uid("ola")
    ids = {"kari": kari, "ola": ola, "bror": uid("bror"), "venn": uid("venn"),
           "kari-kp": uid("kp"), "kari-ip": uid("ip"), "ola-kp": uid("kp"),
           "kari-goal": uid("goal"), "ola-goal": uid("goal"), "team": uid("team")}
    w = World(orgs=[*o.values()], pracs=[*p.values()])
    w.patients = {kari: p["fastlege"].id, ola: None}
    w.related = {ids["bror"]: kari, ids["venn"]: ola}
    w.teams = [
        Team(ids["team"], kari, "active", [("Practitioner", p["dps"].id),
                                           ("PractitionerRole", p["sykepleier"].role or ""),
                                           ("onBehalfOf", o["tsb"].id)]),
        Team(uid("gammelt"), kari, "inactive", [("Practitioner", p["utenfor"].id)]),
    ]
    w.consents = [
        ConsentM(uid("samtykke-nav"), kari, "permit", ("Organization", o["nav"].id),
                 ("CarePlan",), ("individuell-plan",),
                 ((DOMENE, "arbeid-aktivitet"), (DOMENE, "bolig")), nested=True),
        ConsentM(uid("samtykke-bror"), kari, "permit", ("RelatedPerson", ids["bror"]),
                 ("CarePlan",), ("kriseplan",), ((SEKSJON, "kontakter"), (SEKSJON, "parorende"))),
        ConsentM(uid("reservasjon-tsb"), kari, "deny", ("Organization", o["tsb"].id)),
        ConsentM(uid("reservasjon-vold"), kari, "deny", ("service", "legevakt"), ("CarePlan",),
                 (), ((SEKSJON, "voldsrisiko"),)),
        ConsentM(uid("utlopt"), ola, "permit", ("Organization", o["nav"].id), active=False),
    ]
    w.plans = [Plan(ids["kari-kp"], kari, "kriseplan", list(KP_SECTIONS)),
               Plan(ids["kari-ip"], kari, "individuell-plan", list(IP_DOMAINS)),
               Plan(ids["ola-kp"], ola, "kriseplan", list(KP_SECTIONS[:3]))]
    w.goals = {ids["kari-goal"]: kari, ids["ola-goal"]: ola}
    actors = {
        "pasient": Actor("pasient", "person", pid=number(11), patient=kari),
        "parorende-med-samtykke": Actor("parorende-med-samtykke", "person", pid=number(11),
                                        related=(ids["bror"],)),
        "parorende-uten-samtykke": Actor("parorende-uten-samtykke", "person", pid=number(11),
                                         related=(ids["venn"],)),
        "nav": Actor("nav", "staff", org=o["nav"], pid=number(11)),
        "team-lege": Actor("team-lege", "health", org=o["dps"], prac=p["dps"]),
        "team-sykepleier": Actor("team-sykepleier", "health", org=o["kommune"],
                                 prac=p["sykepleier"]),
        "fastlege": Actor("fastlege", "health", org=o["fastlege"], prac=p["fastlege"]),
        "utenfor-teamet": Actor("utenfor-teamet", "health", org=o["annen-kommune"],
                                prac=p["utenfor"]),
        "reservert": Actor("reservert", "health", org=o["tsb"], prac=p["tsb"]),
        "legevakt-nod": Actor("legevakt-nod", "health", org=o["legevakt"], prac=p["legevakt"],
                              emergency=True),
        "legevakt-uten-nod": Actor("legevakt-uten-nod", "health", org=o["legevakt"],
                                   prac=p["legevakt"]),
        "admin": Actor("admin", "admin"),
    }
    return w, actors, ids


UNKNOWN_ORG = "ukjent-organisasjon"
