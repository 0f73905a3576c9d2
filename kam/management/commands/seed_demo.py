"""Build a believable German demo programme. Idempotent: a second run changes nothing.

Every value comes from a generator seeded by a fixed string, so the data is the same on every
run; the command then creates only what is missing, matched by natural keys (ERP number,
username, (account, year), (account, competitor), (account, last name, first name), ...), and
fills only empty profile fields, so edits made in the app survive a second run.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.demo import NAME_SUFFIXES
from accounts.models import (
    Account,
    AccountStatus,
    AccountTeamMember,
    AccountType,
    BuyingRole,
    Channel,
    Competitor,
    Contact,
    ContactDecisionFactor,
    ContactMode,
    ContactRole,
    DecisionFactor,
    Industry,
    Influence,
    PartnershipStrategy,
    PotentialYear,
    Region,
    Relationship,
    TeamRole,
)
from kam.models import User
from kam.roles import Role
from kpis.demo import seed_figures
from payments.demo import seed_payments
from plans.demo import seed_plans
from selection.demo import seed_selection

DEMO_PASSWORD = "kam-demo-2026"  # noqa: S105 - printed for the demo on purpose  # nosec B105

# username, first name, last name, roles, staff/superuser
DEMO_USERS = (
    ("leitung", "Katrin", "Vogel", (Role.SALES_LEADERSHIP,), False),
    ("kam.becker", "Jonas", "Becker", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("kam.wolf", "Sabine", "Wolf", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("kam.aydin", "Murat", "Aydın", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("mentor", "Heinz", "Albrecht", (Role.KEY_ACCOUNT_MANAGER,), False),
    ("finanz", "Petra", "Schulz", (Role.FINANCE,), False),
    ("gast", "Lena", "Krüger", (Role.VIEWER,), False),
    ("admin", "Thomas", "Richter", (Role.ADMINISTRATOR,), True),
)

NAME_STEMS = (
    "Müller",
    "Schneider",
    "Hoffmann",
    "Brandt",
    "Lindner",
    "Weber",
    "Kessler",
    "Hartmann",
    "Baumann",
    "Zimmermann",
    "Friedrich",
    "Lorenz",
    "Seidel",
    "Vogt",
    "Kraus",
    "Böhm",
)
LEGAL_FORMS = ("GmbH", "AG", "GmbH & Co. KG", "SE", "KG")
REGION_COUNTRIES = {
    Region.NORTH: ("DE",),
    Region.EAST: ("DE",),
    Region.SOUTH: ("DE", "AT"),
    Region.WEST: ("DE", "NL"),
    Region.INTERNATIONAL: ("CH", "FR", "IT", "PL", "US"),
}
ACCOUNT_COUNT = 80
KEY_ACCOUNT_COUNT = 30

# Indexes into the key accounts: a holding and the members of its group, by family name.
PARENT_GROUPS = {12: (8, 16, 28), 27: (30, 41, 42, 55), 26: (13, 69)}
# Key accounts whose buying center has no decider yet: the red flags of the demo.
WITHOUT_DECIDER = frozenset({4, 11, 19, 25})
TIERS = (("Gold", 1), ("Silver", 2), ("Bronze", 3))
TIER_OF_KEY_ACCOUNT = "GSBGBSBBSGBSBGSBBSGBSBBGSBSBBS"
SPECIAL_ACCOUNT_TYPES = {
    1: AccountType.ASSOCIATION,
    10: AccountType.ASSOCIATION,
    25: AccountType.ASSOCIATION,
    6: AccountType.LIGHTHOUSE,
    19: AccountType.LIGHTHOUSE,
    23: AccountType.CUSTOMERS_CUSTOMER,
    29: AccountType.INFLUENCER,
}
PROSPECTS = frozenset({6, 19, 23})

TLD = {"DE": "de", "AT": "at", "CH": "ch", "NL": "nl", "FR": "fr", "IT": "it", "PL": "pl"}
DIAL = {"DE": "+49", "AT": "+43", "CH": "+41", "NL": "+31", "FR": "+33", "IT": "+39", "PL": "+48"}
CITIES = {
    "north": ("Hamburg", "Bremen", "Hannover", "Kiel", "Oldenburg"),
    "east": ("Leipzig", "Dresden", "Berlin", "Erfurt", "Chemnitz"),
    "south": ("München", "Stuttgart", "Nürnberg", "Augsburg", "Ulm"),
    "west": ("Köln", "Düsseldorf", "Dortmund", "Essen", "Aachen"),
    "AT": ("Linz", "Graz", "Wien"),
    "NL": ("Eindhoven", "Venlo", "Utrecht"),
    "CH": ("Basel", "Zürich", "Winterthur"),
    "FR": ("Lyon", "Straßburg", "Mülhausen"),
    "IT": ("Mailand", "Turin", "Bozen"),
    "PL": ("Posen", "Breslau", "Stettin"),
    "US": ("Chicago", "Charlotte", "Atlanta"),
}
NEIGHBOUR_COUNTRIES = ("AT", "CH", "NL", "FR", "PL", "IT", "CZ", "BE", "DK", "ES", "US", "CN")

COMPETITORS = (
    ("Schäfer Industrietechnik GmbH", "Rahmenvertrag bis Ende 2027"),
    ("Nordwerk Systeme AG", "Preisaggressiv im Standardsortiment"),
    ("Alpenland Supply GmbH", "Stark im Service vor Ort"),
    ("Rheinfels Solutions GmbH", "Persönliche Nähe zur Geschäftsführung"),
    ("Eurotec Components SE", "Internationaler Wettbewerber mit Konzernrabatt"),
    ("Hansa Partner KG", "Lokaler Anbieter, schnell bei Eilaufträgen"),
    ("Meridian Industrial Group", "Bietet Konsignationslager an"),
    ("Kronberg & Vogt GmbH", ""),
    ("Südstern Service AG", "Gewinnt Ausschreibungen über den Preis"),
    ("Weserland Technik GmbH", "Technisch gleichwertig, längere Lieferzeiten"),
)

# Per industry: the customer's requirements, key processes and own goals (German demo text).
INDUSTRY_TEXT = {
    Industry.AUTOMOTIVE: (
        (
            "Anlieferung just in sequence an die Montagelinien mit 48 Stunden Vorschau.",
            "Null-Fehler-Anspruch: unter 20 ppm, 8D-Report binnen 48 Stunden.",
            "Zertifizierung nach IATF 16949 und VDA 6.3 für alle Lieferwerke.",
            "Jährliche Preissenkung von 2–3 % laut Rahmenvertrag.",
        ),
        (
            "Abrufe per EDI (VDA 4905/4915) aus dem Lieferplan.",
            "Bemusterung nach PPAP/PPF vor jedem Serienanlauf.",
            "Quartalsweises Lieferantenrating mit Ampel im Lieferantenportal.",
        ),
        (
            "Umstieg der Plattformen auf Elektroantriebe bis 2028.",
            "CO₂-Fußabdruck je Bauteil bis 2030 halbieren.",
            "Lieferantenbasis im Kaufteilebereich um 30 % verkleinern.",
        ),
    ),
    Industry.MECHANICAL_ENGINEERING: (
        (
            "Kurze Lieferzeiten für Ersatzteile, auch für Anlagen älter als 15 Jahre.",
            "Technische Dokumentation nach Maschinenrichtlinie in Deutsch und Englisch.",
            "Ansprechpartner in der Konstruktion bei Sonderlösungen.",
            "Verlässliche Liefertermine für Großprojekte mit Pönalen.",
        ),
        (
            "Projektgeschäft mit Stage-Gate-Freigaben durch die Konstruktion.",
            "Bestellungen über SAP MM mit Rahmenverträgen und Abrufen.",
            "Inbetriebnahme beim Endkunden weltweit durch eigene Monteure.",
        ),
        (
            "Serviceumsatz am Gesamtumsatz auf 35 % steigern.",
            "Anlagen mit Fernwartung und vorausschauender Instandhaltung anbieten.",
            "Durchlaufzeit in der Montage um 20 % senken.",
        ),
    ),
    Industry.CHEMICALS: (
        (
            "GMP-konforme Prozesse und lückenlose Chargenrückverfolgung.",
            "REACH-Dokumentation und Sicherheitsdatenblätter in allen Landessprachen.",
            "Zweitlieferant für alle kritischen Rohstoffe.",
            "Audit-Bereitschaft innerhalb von zwei Wochen.",
        ),
        (
            "Qualifizierung neuer Lieferanten dauert 9–12 Monate.",
            "Bedarfsplanung rollierend über 18 Monate mit monatlichem S&OP-Termin.",
            "Freigabe jeder Spezifikationsänderung durch die Qualitätssicherung.",
        ),
        (
            "Energieverbrauch je Tonne bis 2030 um 25 % senken.",
            "Portfolio in Richtung Spezialchemie verschieben.",
            "Neues Werk in Polen bis 2027 in Betrieb nehmen.",
        ),
    ),
    Industry.ELECTRONICS: (
        (
            "Abkündigungsmanagement mit mindestens zwölf Monaten Vorlauf.",
            "ESD-gerechte Verpackung und Rückverfolgbarkeit bis auf Los-Ebene.",
            "Flexible Mengen bei stark schwankendem Bedarf.",
            "Technischer Support bei der Bauteilauswahl im Design-in.",
        ),
        (
            "Design-in gemeinsam mit der Entwicklung, danach Serienfreigabe durch den Einkauf.",
            "Kanban-Belieferung der SMD-Linien.",
            "Quartalsweise Forecast-Abstimmung mit dem Einkauf.",
        ),
        (
            "Abhängigkeit von asiatischen Lieferanten verringern.",
            "Eigene Sensorplattform für die Industrie 4.0 aufbauen.",
            "Time-to-Market neuer Produkte auf neun Monate verkürzen.",
        ),
    ),
    Industry.RETAIL: (
        (
            "Regalfertige Anlieferung an über 200 Filialen.",
            "Aktionsware mit festen Terminen und Rückgaberecht.",
            "Stammdaten über GS1 mit Bildern und Nährwerten.",
            "Einheitliche Konditionen für alle Gesellschaften der Gruppe.",
        ),
        (
            "Jahresgespräche im Herbst, Listung über das Category Management.",
            "Bestellungen automatisch aus dem Warenwirtschaftssystem.",
            "Wöchentliche Abverkaufsdaten für die Nachschubplanung.",
        ),
        (
            "Onlineanteil am Umsatz auf 25 % verdoppeln.",
            "Eigenmarken ausbauen und Sortiment straffen.",
            "Lagerumschlag um zwei Tage verbessern.",
        ),
    ),
    Industry.LOGISTICS: (
        (
            "Tracking in Echtzeit per Schnittstelle in das eigene TMS.",
            "Verfügbarkeit der Ersatzteile rund um die Uhr.",
            "Abrechnung nach Einsatzstunden statt Pauschale.",
            "Schulung neuer Fahrer und Lagermitarbeiter vor Ort.",
        ),
        (
            "Ausschreibungen der Standorte jährlich über eine Plattform.",
            "Disposition im Schichtbetrieb, Freigabe durch den Niederlassungsleiter.",
            "Monatliches KPI-Review mit dem Kunden des Kunden.",
        ),
        (
            "Flotte bis 2030 zu 40 % elektrifizieren.",
            "Zwei neue Hubs in Süddeutschland eröffnen.",
            "Fehlverladungen unter 0,1 % drücken.",
        ),
    ),
    Industry.FOOD: (
        (
            "IFS- und BRC-Zertifizierung, Allergenmanagement nach Vorgabe.",
            "Saisonale Spitzen im Sommer mit doppeltem Volumen.",
            "Lebensmittelechte Verpackungen mit Nachweis der Migration.",
            "Kurze Reaktionszeiten bei Reklamationen aus dem Handel.",
        ),
        (
            "Rezepturfreigabe durch Produktentwicklung und Qualitätssicherung.",
            "Jahresverträge mit Mengenkorridor, Abruf wöchentlich.",
            "Lieferantenaudit vor Ort alle zwei Jahre.",
        ),
        (
            "Verpackungsmaterial bis 2028 vollständig recyclingfähig machen.",
            "Exportanteil nach Skandinavien ausbauen.",
            "Ausschuss in der Abfüllung halbieren.",
        ),
    ),
    Industry.ENERGY: (
        (
            "Versorgungssicherheit hat Vorrang vor Preis.",
            "Vergabe nach Sektorenverordnung mit transparenten Kriterien.",
            "Service-Level mit Reaktionszeit von vier Stunden.",
            "Nachweise zur IT-Sicherheit nach KRITIS-Vorgaben.",
        ),
        (
            "Investitionsplanung im Wirtschaftsplan, Freigabe durch den Aufsichtsrat.",
            "Rahmenverträge über vier Jahre mit jährlicher Preisgleitung.",
            "Technische Abnahme durch den Netzbetrieb.",
        ),
        (
            "Klimaneutralität der Versorgung bis 2035.",
            "Netzausbau für Wärmepumpen und Ladepunkte beschleunigen.",
            "Kundenservice digitalisieren.",
        ),
    ),
    Industry.HEALTHCARE: (
        (
            "Konformität mit der MDR und lückenlose UDI-Kennzeichnung.",
            "Validierte Reinigungs- und Sterilisationsprozesse.",
            "Verfügbarkeit kritischer Produkte auch in Engpasslagen.",
            "Schulung des Personals bei Einführung neuer Produkte.",
        ),
        (
            "Beschaffung über eine Einkaufsgemeinschaft mit jährlicher Ausschreibung.",
            "Produktbewertung durch die Arzneimittel- und Medizinproduktekommission.",
            "Lieferung stationsgenau über das Zentrallager.",
        ),
        (
            "Verweildauer senken und Prozesse standardisieren.",
            "Labore an zwei Standorten zusammenlegen.",
            "Digitale Patientenakte bis 2027 flächendeckend einführen.",
        ),
    ),
    Industry.PUBLIC_SECTOR: (
        (
            "Vergabe nach UVgO bzw. VgV, Eignungsnachweise vollständig.",
            "Rahmenvereinbarungen, die Mitglieder einzeln abrufen können.",
            "Ansprechpartner mit Erfahrung im öffentlichen Sektor.",
            "Barrierefreie Unterlagen und Schulungen für Mitglieder.",
        ),
        (
            "Beschluss durch Vorstand und Mitgliederversammlung.",
            "Haushaltsplanung im Herbst für das Folgejahr.",
            "Empfehlungen an die Mitglieder über Fachausschüsse.",
        ),
        (
            "Mitgliedern gebündelte Konditionen sichern.",
            "Verwaltung bis 2027 digitalisieren.",
            "Nachhaltige Beschaffung als Standard etablieren.",
        ),
    ),
}
STARTING_POINTS = (
    "Gemeinsamer Workshop zur Standardisierung der Varianten.",
    "Konsignationslager am Hauptstandort.",
    "Pilotprojekt zur vorausschauenden Wartung an einer Linie.",
    "Einbindung in die Lieferantenentwicklung des Kunden.",
    "Gemeinsame Schulungen für Technik und Einkauf.",
    "Anbindung an das Lieferantenportal mit automatischem Rechnungsabgleich.",
    "Co-Entwicklung für die nächste Produktgeneration.",
    "Gemeinsamer Auftritt auf der Hausmesse des Kunden.",
    "Rahmenvertrag für alle Gesellschaften der Gruppe.",
)
HISTORY = (
    "{y0}: Erstauftrag nach erfolgreicher Bemusterung.",
    "{y0}: Einstieg über ein Ersatzteilgeschäft für ein Werk.",
    "{y1}: Aufnahme in die Liste der bevorzugten Lieferanten.",
    "{y1}: Lieferengpass im Frühjahr, gemeinsam mit der Logistik gelöst.",
    "{y2}: Ausweitung auf einen zweiten Standort.",
    "{y2}: Reklamation mit 8D-Bericht sauber abgeschlossen; Vertrauen gestärkt.",
    "{y3}: Jahresgespräch mit neuer Einkaufsleitung, Konditionen neu verhandelt.",
    "{y3}: Rahmenvertrag über drei Jahre unterzeichnet.",
)

MALE_FIRST_NAMES = (
    "Andreas", "Bernd", "Christian", "Daniel", "Dirk", "Florian", "Frank", "Jan", "Jens",
    "Jürgen", "Klaus", "Lars", "Markus", "Martin", "Matthias", "Michael", "Oliver", "Ralf",
    "Sebastian", "Stefan", "Thorsten", "Tobias", "Uwe", "Wolfgang", "Yusuf",
)  # fmt: skip
FEMALE_FIRST_NAMES = (
    "Andrea", "Anja", "Birgit", "Claudia", "Daniela", "Elif", "Julia", "Karin", "Katharina",
    "Kerstin", "Laura", "Monika", "Nadine", "Nicole", "Petra", "Sandra", "Silke", "Simone",
    "Stefanie", "Susanne", "Tanja", "Ulrike", "Verena", "Yvonne", "Zeynep",
)  # fmt: skip
LAST_NAMES = (
    "Albers", "Arnold", "Bauer", "Beck", "Berger", "Brinkmann", "Busch", "Dietrich", "Engel",
    "Fischer", "Franke", "Fuchs", "Graf", "Günther", "Haas", "Hahn", "Heinrich", "Herrmann",
    "Horn", "Jansen", "Jung", "Kaiser", "Keller", "Klein", "Koch", "König", "Köhler", "Kuhn",
    "Lange", "Lehmann", "Ludwig", "Maier", "Martin", "Mayer", "Meyer", "Möller", "Neumann",
    "Otto", "Peters", "Pohl", "Roth", "Sauer", "Schmid", "Schmitt", "Schröder", "Schulte",
    "Schwarz", "Simon", "Sommer", "Stein", "Thomas", "Walter", "Werner", "Winkler", "Wagner",
    "Yılmaz", "Ziegler", "Zimmer", "Şahin", "Nowak",
)  # fmt: skip

# Department -> (head title m/f, staff titles m/f, typical roles of the head, of the staff).
DEPARTMENTS = {
    "Einkauf": (
        ("Leiter Einkauf", "Leiterin Einkauf"),
        (
            ("Strategischer Einkäufer", "Strategische Einkäuferin"),
            ("Operativer Einkäufer", "Operative Einkäuferin"),
            ("Sachbearbeiter Einkauf", "Sachbearbeiterin Einkauf"),
        ),
        (BuyingRole.BUYER,),
        (BuyingRole.BUYER, BuyingRole.GATEKEEPER),
    ),
    "Produktion": (
        ("Werksleiter", "Werksleiterin"),
        (
            ("Produktionsleiter", "Produktionsleiterin"),
            ("Schichtleiter", "Schichtleiterin"),
            ("Meister Montage", "Meisterin Montage"),
        ),
        (BuyingRole.INITIATOR, BuyingRole.USER),
        (BuyingRole.USER, BuyingRole.INITIATOR),
    ),
    "Technik": (
        ("Leiter Entwicklung", "Leiterin Entwicklung"),
        (
            ("Projektingenieur", "Projektingenieurin"),
            ("Konstrukteur", "Konstrukteurin"),
        ),
        (BuyingRole.INFLUENCER, BuyingRole.INITIATOR),
        (BuyingRole.INFLUENCER, BuyingRole.USER),
    ),
    "Qualität": (
        ("Leiter Qualitätsmanagement", "Leiterin Qualitätsmanagement"),
        (
            ("Qualitätsingenieur", "Qualitätsingenieurin"),
            ("Lieferantenauditor", "Lieferantenauditorin"),
        ),
        (BuyingRole.INFLUENCER,),
        (BuyingRole.INFLUENCER, BuyingRole.GATEKEEPER),
    ),
    "IT": (
        ("Leiter IT", "Leiterin IT"),
        (
            ("IT-Architekt", "IT-Architektin"),
            ("SAP-Koordinator", "SAP-Koordinatorin"),
        ),
        (BuyingRole.INFLUENCER,),
        (BuyingRole.INFLUENCER, BuyingRole.USER),
    ),
    "Logistik": (
        ("Leiter Logistik", "Leiterin Logistik"),
        (
            ("Disponent", "Disponentin"),
            ("Lagerleiter", "Lagerleiterin"),
        ),
        (BuyingRole.USER, BuyingRole.INFLUENCER),
        (BuyingRole.USER,),
    ),
    "Finanzen": (
        ("Kaufmännischer Leiter", "Kaufmännische Leiterin"),
        (("Controller", "Controllerin"),),
        (BuyingRole.APPROVER,),
        (BuyingRole.INFLUENCER,),
    ),
}
# Operations instead of production where the customer does not manufacture.
OPERATIONS = {
    Industry.RETAIL: ("Filialbetrieb", ("Leiter Filialbetrieb", "Leiterin Filialbetrieb")),
    Industry.LOGISTICS: ("Betrieb", ("Leiter Niederlassungen", "Leiterin Niederlassungen")),
    Industry.HEALTHCARE: ("Betrieb", ("Leiter Klinikbetrieb", "Leiterin Klinikbetrieb")),
    Industry.PUBLIC_SECTOR: ("Fachbereiche", ("Leiter Fachbereiche", "Leiterin Fachbereiche")),
}
DOOR_OPENERS = {
    "Geschäftsführung": (
        "Schätzt unsere Verlässlichkeit in der Lieferkrise 2022",
        "Kennt unseren Vorstand aus dem Branchenverband",
        "Interesse an gemeinsamen Nachhaltigkeitszielen",
    ),
    "Einkauf": (
        "Transparente Kalkulation und offene Bücher",
        "Lieferantenrating: zweimal Bestnote",
        "Schnelle Angebote innerhalb von 24 Stunden",
    ),
    "Produktion": (
        "Unser Techniker hat den Linienstillstand im Winter behoben",
        "Schulungen für das Schichtpersonal",
    ),
    "Technik": (
        "Gemeinsame Patentanmeldung",
        "Vortrag auf unserem Technologietag",
        "Alumni derselben Hochschule (KIT)",
    ),
    "Qualität": ("Null Reklamationen im letzten Jahr", "Audit ohne Abweichungen bestanden"),
    "IT": ("EDI-Anbindung reibungslos umgesetzt", "Interesse an unserer API"),
    "Logistik": ("Konsignationslager spart ihm Fläche", "Termintreue über 98 %"),
    "Finanzen": ("Zahlungsziele flexibel vereinbart",),
}
GENERIC_DOOR_OPENERS = (
    "Gemeinsamer Besuch der Hannover Messe",
    "Fußballfan, Dauerkarte beim Heimatverein",
    "Empfehlung durch einen Kollegen aus der Gruppe",
    "Persönliche Betreuung seit vielen Jahren",
)
CUSTOM_FACTORS = (
    "Nachhaltigkeit und CO₂-Bilanz",
    "Lieferfähigkeit in Krisen",
    "Zertifizierungen",
    "Regionale Wertschöpfung",
    "Datenschutz und IT-Sicherheit",
    "Innovationskraft",
)
STANDARD_FACTORS = [factor for factor in DecisionFactor if factor != DecisionFactor.CUSTOM]

# Mentors and executive sponsors keep their relationship at the top of the customer.
SPONSOR_ROLES = (TeamRole.MENTOR, TeamRole.EXECUTIVE_SPONSOR)


def demo_accounts() -> list[dict[str, str]]:
    """The same 80 accounts every time (a fixed seed), each with a unique name and number."""
    rng = random.Random(2026)  # nosec B311 # seeded synthetic data, not secrets
    industries, regions = list(Industry), list(Region)
    accounts, names = [], set()
    while len(accounts) < ACCOUNT_COUNT:
        industry = rng.choice(industries)
        region = rng.choice(regions)
        stem, suffix = rng.choice(NAME_STEMS), rng.choice(NAME_SUFFIXES[industry])
        name = f"{stem} {suffix} {rng.choice(LEGAL_FORMS)}"
        if name in names:
            continue
        names.add(name)
        accounts.append(
            {
                "erp_number": f"D{10000 + len(accounts) * 37:06d}",
                "name": name,
                "industry": industry,
                "region": region,
                "country": rng.choice(REGION_COUNTRIES[region]),
            }
        )
    return accounts


def legal_form_of(name: str) -> str:
    """The legal form a company name ends with ("GmbH & Co. KG" before "KG"), or ""."""
    for form in sorted(LEGAL_FORMS, key=len, reverse=True):
        if name.endswith(f" {form}"):
            return form
    return ""


def _ascii(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s"})
    return text.lower().translate(table)


def _domain(row: dict[str, str]) -> str:
    stem, suffix = row["name"].split()[:2]
    return f"{_ascii(stem)}-{_ascii(suffix)}.{TLD.get(row['country'], 'com')}"


def demo_profile(index: int, row: dict[str, str], this_year: int) -> dict:
    """The profile fields of key account ``index`` (0–29): tier, strategy, texts, shares."""
    rng = random.Random(f"seed-demo:profile:{row['erp_number']}")  # nosec B311 # seeded synthetic data, not secrets
    tier, tier_rank = dict(zip("GSB", TIERS, strict=True))[TIER_OF_KEY_ACCOUNT[index]]
    strategy = {
        1: (PartnershipStrategy.STRATEGIC, PartnershipStrategy.STRATEGIC),
        2: (PartnershipStrategy.OPERATIONAL, PartnershipStrategy.STRATEGIC),
        3: (PartnershipStrategy.LEAN, PartnershipStrategy.OPERATIONAL),
    }[tier_rank][rng.random() < 0.3]
    prospect = index in PROSPECTS
    share = 0 if prospect else rng.randint(8, 20) + (3 - tier_rank) * rng.randint(5, 12)
    target = min(share + rng.randint(5, 20), 80) if not prospect else rng.randint(10, 20)
    countries = {row["country"]}
    extra = rng.randint(2, 5) if row["region"] == Region.INTERNATIONAL else rng.randint(0, 3)
    countries.update(rng.sample(NEIGHBOUR_COUNTRIES, extra))
    requirements, processes, goals = INDUSTRY_TEXT[row["industry"]]
    years = {f"y{n}": this_year - 4 + n for n in range(4)}
    if prospect:
        history = f"{this_year - 1}: Erstkontakt über eine Empfehlung; noch kein Auftrag."
    else:
        history = "\n".join(
            rng.choice(HISTORY[2 * n : 2 * n + 2]).format(**years) for n in range(4)
        )
    return {
        "tier": tier,
        "tier_rank": tier_rank,
        "account_type": SPECIAL_ACCOUNT_TYPES.get(index, AccountType.DIRECT),
        "status": AccountStatus.PROSPECT if prospect else AccountStatus.ACTIVE,
        "strategy": strategy,
        "website": f"https://www.{_domain(row)}",
        "countries_of_operation": sorted(countries),
        "share_of_wallet": Decimal(share),
        "share_of_wallet_target": Decimal(target),
        "requirements": "\n".join(rng.sample(requirements, 3)),
        "key_processes": "\n".join(rng.sample(processes, 2)),
        "partnership_starting_points": "\n".join(rng.sample(STARTING_POINTS, 2)),
        "cooperation_history": history,
        "customer_goals": "\n".join(rng.sample(goals, 2)),
    }


def demo_potential(index: int, row: dict[str, str], this_year: int) -> list[dict]:
    """Four years of expected revenue and contribution margin in EUR, growing believably."""
    rng = random.Random(f"seed-demo:potential:{row['erp_number']}")  # nosec B311 # seeded synthetic data, not secrets
    tier_rank = TIERS["GSB".index(TIER_OF_KEY_ACCOUNT[index])][1]
    revenue = {1: rng.uniform(4e6, 12e6), 2: rng.uniform(1.5e6, 5e6), 3: rng.uniform(4e5, 2e6)}[
        tier_rank
    ]
    if index in PROSPECTS:
        revenue *= 0.05
    margin_rate = rng.uniform(0.18, 0.32)
    years = []
    for offset in range(4):
        years.append(
            {
                "year": this_year + offset,
                "expected_revenue": Decimal(round(revenue, -3)).quantize(Decimal("0.01")),
                "expected_margin": Decimal(round(revenue * margin_rate, -2)).quantize(
                    Decimal("0.01")
                ),
            }
        )
        growth = rng.uniform(1.8, 3.5) if index in PROSPECTS and offset == 0 else None
        revenue *= growth or rng.uniform(1.02, 1.12)
        margin_rate = min(margin_rate + rng.uniform(-0.01, 0.015), 0.4)
    return years


def demo_competitors(row: dict[str, str], share_of_wallet: Decimal) -> list[dict]:
    """One to three competitors whose shares leave room for ours."""
    rng = random.Random(f"seed-demo:competitors:{row['erp_number']}")  # nosec B311 # seeded synthetic data, not secrets
    room = int(100 - share_of_wallet)
    competitors = []
    for name, notes in rng.sample(COMPETITORS, rng.randint(1, 3)):
        share = rng.randint(room // 6, room // 2)
        room -= share
        competitors.append({"name": name, "estimated_share": Decimal(share), "notes": notes})
    return competitors


@dataclass
class ContactSpec:
    """One generated buying-center card: the contact's fields and what hangs off it."""

    fields: dict
    level: int
    manager: tuple[str, str] | None
    roles: list[str]
    factors: list[tuple[str, str, int]]
    days_since_contact: int | None
    relationships: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.fields["last_name"], self.fields["first_name"])


def demo_buying_center(index: int, row: dict[str, str]) -> list[ContactSpec]:
    """6–15 active contacts (plus some who left) forming a reporting tree under the top manager.

    Relationships are described by the team role on our side (KAM, deputy, mentor, sponsor)
    and a number of days since they were last touched.
    """
    rng = random.Random(f"seed-demo:buying-center:{row['erp_number']}")  # nosec B311 # seeded synthetic data, not secrets
    active = 6 + (index * 7 + rng.randint(0, 3)) % 10
    left = rng.choice((0, 0, 1, 1, 2))
    industry, legal_form = row["industry"], legal_form_of(row["name"])
    domain = _domain(row)
    dial = DIAL.get(row["country"], "+1")
    cities = CITIES.get(row["country"] if row["country"] != "DE" else row["region"])
    headquarters = cities[0]
    used: set[tuple[str, str]] = set()

    def person() -> tuple[str, str, bool]:
        while True:
            female = rng.random() < 0.4
            first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            if (last, first) not in used:
                used.add((last, first))
                return first, last, female

    def card(title: tuple[str, str], department: str, level: int, manager, roles) -> ContactSpec:
        first, last, female = person()
        influence = (Influence.HIGH, Influence.HIGH, Influence.MEDIUM)[level]
        if level == 2 and rng.random() < 0.4:
            influence = Influence.LOW
        factors = [
            (factor, "", rng.randint(2, 5))
            for factor in rng.sample(STANDARD_FACTORS, rng.randint(2, 4))
        ]
        if rng.random() < 0.2:
            factors.append((DecisionFactor.CUSTOM, rng.choice(CUSTOM_FACTORS), rng.randint(3, 5)))
        openers = rng.sample(
            DOOR_OPENERS.get(department, ()) + GENERIC_DOOR_OPENERS, rng.randint(0, 2 + level % 2)
        )
        return ContactSpec(
            fields={
                "first_name": first,
                "last_name": last,
                "position": title[female],
                "department": department,
                "location": headquarters if level < 2 else rng.choice(cities),
                "email": f"{_ascii(first)}.{_ascii(last)}@{domain}",
                "phone": f"{dial} {rng.randint(20, 99)} {rng.randint(100000, 999999)}",
                "preferred_channel": rng.choice(list(Channel)),
                "influence": influence,
                "attitude": max(-5, min(5, round(rng.gauss(1.0, 2.6)))),
                "mode": rng.choice([*ContactMode, ""]),
                "door_openers": "\n".join(openers),
            },
            level=level,
            manager=manager,
            roles=sorted(set(roles)),
            factors=factors,
            days_since_contact=rng.randint(3, 240) if level < 2 or rng.random() < 0.7 else None,
        )

    top_title = (
        ("Vorstandsvorsitzender", "Vorstandsvorsitzende")
        if legal_form in ("AG", "SE")
        else ("Geschäftsführer", "Geschäftsführerin")
    )
    has_decider = index not in WITHOUT_DECIDER
    top = card(
        top_title,
        "Geschäftsführung",
        0,
        None,
        [BuyingRole.DECIDER] if has_decider else [BuyingRole.APPROVER],
    )
    cards = [top]
    departments = list(DEPARTMENTS)
    heads_count = min(len(departments), max(3, (active - 1) // 2))
    chosen = ["Einkauf", *rng.sample(departments[1:], heads_count - 1)]
    heads: list[tuple[str, ContactSpec]] = []
    for department in chosen:
        head_title, _staff, head_roles, _staff_roles = DEPARTMENTS[department]
        label = department
        if department == "Produktion" and industry in OPERATIONS:
            label, head_title = OPERATIONS[industry]
        roles = [rng.choice(head_roles)]
        if department == "Einkauf" and has_decider and rng.random() < 0.3:
            roles.append(BuyingRole.DECIDER)
        head = card(head_title, label, 1, top.key, roles)
        heads.append((department, head))
        cards.append(head)
    if len(cards) < active and rng.random() < 0.5:
        cards.append(
            card(
                ("Assistent der Geschäftsführung", "Assistentin der Geschäftsführung"),
                "Geschäftsführung",
                2,
                top.key,
                [BuyingRole.GATEKEEPER],
            )
        )
    while len(cards) < active + left:
        department, head = rng.choice(heads)
        _head_title, staff_titles, _head_roles, staff_roles = DEPARTMENTS[department]
        staff = card(
            rng.choice(staff_titles),
            head.fields["department"],
            2,
            head.key,
            [rng.choice(staff_roles)],
        )
        cards.append(staff)
    # The last cards are people who left: leaves of the tree, so no one reports to them.
    for departed in cards[len(cards) - left :]:
        departed.fields["has_left"] = True
        departed.fields["door_openers"] = ""
        departed.days_since_contact = rng.randint(120, 400)
    for spec in cards:
        ours = [
            (TeamRole.KEY_ACCOUNT_MANAGER, 0.95 - 0.25 * spec.level, 3, 5),
            (TeamRole.DEPUTY, 0.6 - 0.2 * spec.level, 2, 4),
        ]
        if spec.level == 0:
            ours += [(role, 1.0, 2, 4) for role in SPONSOR_ROLES]
        for team_role, chance, weakest, strongest in ours:
            if rng.random() < chance:
                stale = rng.random() < 0.25 or spec.fields.get("has_left")
                days = rng.randint(91, 400) if stale else rng.randint(1, 89)
                spec.relationships.append((team_role, rng.randint(weakest, strongest), days))
    return cards


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


class Command(BaseCommand):
    help = "Load demo users and accounts for a German KAM programme (safe to run again)."

    # The demo's annual refresh notifies the managers once the seed commits; their mails are
    # not for the console (the in-app notifications are the demo).
    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    @transaction.atomic
    def handle(self, *args, **options) -> None:
        today = timezone.localdate()
        users = self._users()
        accounts = self._accounts()
        self._teams(users, accounts)
        key_accounts = accounts[:KEY_ACCOUNT_COUNT]
        self._profiles(accounts, today.year)
        created = {
            "potential years": self._potential(key_accounts, today.year),
            "competitors": self._competitors(key_accounts, today.year),
        }
        created.update(self._buying_centers(key_accounts, today))
        created.update(seed_selection(leadership=users["leitung"]))
        key_accounts = list(Account.objects.filter(pk__in=[a.pk for a in key_accounts]))
        created.update(
            seed_plans(key_accounts=key_accounts, leadership=users["leitung"], today=today)
        )
        created.update(
            seed_figures(
                accounts=list(Account.objects.filter(pk__in=[a.pk for a in accounts])),
                key_accounts=key_accounts,
                leadership=users["leitung"],
                today=today,
            )
        )
        created.update(
            seed_payments(
                accounts=list(Account.objects.filter(pk__in=[a.pk for a in accounts])),
                key_accounts=list(Account.objects.filter(pk__in=[a.pk for a in key_accounts])),
                users=users,
                today=today,
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(accounts)} accounts, {len(key_accounts)} key accounts."
            )
        )
        self.stdout.write(
            "Created this run: " + ", ".join(f"{count} {what}" for what, count in created.items())
        )
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ with password {DEMO_PASSWORD!r}:")
        for username, first, last, roles, _staff in DEMO_USERS:
            labels = ", ".join(str(role.label) for role in roles)
            self.stdout.write(f"  {username:<12} {first} {last} ({labels})")

    def _users(self) -> dict[str, User]:
        users = {}
        for username, first, last, roles, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@kam-demo.example",
                    "is_staff": staff,
                    "is_superuser": staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
            users[username] = user
        return users

    def _accounts(self) -> list[Account]:
        rows = demo_accounts()
        existing = set(
            Account.objects.filter(erp_number__in=[r["erp_number"] for r in rows]).values_list(
                "erp_number", flat=True
            )
        )
        Account.objects.bulk_create(Account(**r) for r in rows if r["erp_number"] not in existing)
        return list(
            Account.objects.filter(erp_number__in=[r["erp_number"] for r in rows]).order_by(
                "erp_number"
            )
        )

    def _teams(self, users: dict[str, User], accounts: list[Account]) -> None:
        # The first 30 accounts are the key accounts, worked by three KAMs in turn; a mentor
        # and leadership's executive sponsorship on every fifth.
        kams = [users["kam.becker"], users["kam.wolf"], users["kam.aydin"]]
        members = []
        for index, account in enumerate(accounts[:KEY_ACCOUNT_COUNT]):
            members.append(
                AccountTeamMember(
                    account=account, user=kams[index % 3], role=TeamRole.KEY_ACCOUNT_MANAGER
                )
            )
            deputy = kams[(index + 1) % 3]
            members.append(AccountTeamMember(account=account, user=deputy, role=TeamRole.DEPUTY))
            if index % 5 == 0:
                members.append(
                    AccountTeamMember(account=account, user=users["mentor"], role=TeamRole.MENTOR)
                )
                members.append(
                    AccountTeamMember(
                        account=account, user=users["leitung"], role=TeamRole.EXECUTIVE_SPONSOR
                    )
                )
        AccountTeamMember.objects.bulk_create(members, ignore_conflicts=True)

    def _profiles(self, accounts: list[Account], this_year: int) -> None:
        """Fill the empty profile fields: legal form for all, the full profile for key accounts.

        Tiers are the selection app's to write; the seed only gives key accounts a starting tier.
        """
        rows = {row["erp_number"]: row for row in demo_accounts()}
        parents = {
            member: holding for holding, members in PARENT_GROUPS.items() for member in members
        }
        changed: dict[int, Account] = {}
        fields: set[str] = set()
        for index, account in enumerate(accounts):
            row = rows[account.erp_number]
            wanted: dict = {"legal_form": legal_form_of(row["name"])}
            if index < KEY_ACCOUNT_COUNT:
                wanted.update(demo_profile(index, row, this_year))
                if account.tier:
                    del wanted["tier"], wanted["tier_rank"]
            if index in parents:
                wanted["parent_id"] = accounts[parents[index]].pk
            for name, value in wanted.items():
                if _is_empty(getattr(account, name)) and not _is_empty(value):
                    setattr(account, name, value)
                    changed[account.pk] = account
                    fields.add(name)
        if changed:
            Account.objects.bulk_update(list(changed.values()), sorted(fields))

    def _potential(self, key_accounts: list[Account], this_year: int) -> int:
        rows = {row["erp_number"]: row for row in demo_accounts()}
        existing = set(
            PotentialYear.objects.filter(account__in=key_accounts).values_list("account_id", "year")
        )
        missing = [
            PotentialYear(account=account, **year)
            for index, account in enumerate(key_accounts)
            for year in demo_potential(index, rows[account.erp_number], this_year)
            if (account.pk, year["year"]) not in existing
        ]
        PotentialYear.objects.bulk_create(missing)
        return len(missing)

    def _competitors(self, key_accounts: list[Account], this_year: int) -> int:
        rows = {row["erp_number"]: row for row in demo_accounts()}
        existing = set(
            Competitor.objects.filter(account__in=key_accounts).values_list("account_id", "name")
        )
        missing = []
        for index, account in enumerate(key_accounts):
            share = demo_profile(index, rows[account.erp_number], this_year)["share_of_wallet"]
            missing += [
                Competitor(account=account, **competitor)
                for competitor in demo_competitors(rows[account.erp_number], share)
                if (account.pk, competitor["name"]) not in existing
            ]
        Competitor.objects.bulk_create(missing)
        return len(missing)

    def _buying_centers(self, key_accounts: list[Account], today: datetime.date) -> dict[str, int]:
        """Contacts, their roles, decision factors and our relationships to them.

        Each row is matched by its natural key and created only when missing; a contact's
        manager is set only on contacts created in this run, so later edits survive.
        """
        rows = {row["erp_number"]: row for row in demo_accounts()}
        specs = {
            account.pk: demo_buying_center(index, rows[account.erp_number])
            for index, account in enumerate(key_accounts)
        }
        contact_of = self._contacts_by_key(key_accounts)
        new = []
        for account in key_accounts:
            for spec in specs[account.pk]:
                if (account.pk, *spec.key) not in contact_of:
                    days = spec.days_since_contact
                    last_contact = None if days is None else today - datetime.timedelta(days)
                    new.append(
                        Contact(account=account, last_contact_date=last_contact, **spec.fields)
                    )
        Contact.objects.bulk_create(new)
        new_keys = {(contact.account_id, contact.last_name, contact.first_name) for contact in new}
        contact_of = self._contacts_by_key(key_accounts)

        managed = []
        for account in key_accounts:
            for spec in specs[account.pk]:
                contact = contact_of[(account.pk, *spec.key)]
                if spec.manager and (account.pk, *spec.key) in new_keys:
                    contact.reports_to = contact_of[(account.pk, *spec.manager)]
                    managed.append(contact)
        Contact.objects.bulk_update(managed, ["reports_to"])

        contact_ids = [contact.pk for contact in contact_of.values()]
        roles_there = set(
            ContactRole.objects.filter(contact_id__in=contact_ids).values_list("contact_id", "role")
        )
        factors_there = set(
            ContactDecisionFactor.objects.filter(contact_id__in=contact_ids).values_list(
                "contact_id", "factor", "custom_name"
            )
        )
        relationships_there = set(
            Relationship.objects.filter(contact_id__in=contact_ids).values_list(
                "contact_id", "user_id"
            )
        )
        team: dict[tuple[int, str], int] = {
            (account_id, role): user_id
            for account_id, role, user_id in AccountTeamMember.objects.filter(
                account__in=key_accounts
            ).values_list("account_id", "role", "user_id")
        }
        roles, factors, relationships = [], [], []
        for account in key_accounts:
            for spec in specs[account.pk]:
                contact = contact_of[(account.pk, *spec.key)]
                roles += [
                    ContactRole(contact=contact, role=role)
                    for role in spec.roles
                    if (contact.pk, role) not in roles_there
                ]
                factors += [
                    ContactDecisionFactor(
                        contact=contact, factor=factor, custom_name=name, importance=importance
                    )
                    for factor, name, importance in spec.factors
                    if (contact.pk, factor, name) not in factors_there
                ]
                for team_role, strength, days in spec.relationships:
                    user_id = team.get((account.pk, team_role))
                    if user_id is None or (contact.pk, user_id) in relationships_there:
                        continue
                    relationships_there.add((contact.pk, user_id))
                    relationships.append(
                        Relationship(
                            contact=contact,
                            user_id=user_id,
                            strength=strength,
                            last_touched=today - datetime.timedelta(days=days),
                        )
                    )
        ContactRole.objects.bulk_create(roles)
        ContactDecisionFactor.objects.bulk_create(factors)
        Relationship.objects.bulk_create(relationships)
        return {
            "contacts": len(new),
            "buying-center roles": len(roles),
            "decision factors": len(factors),
            "relationships": len(relationships),
        }

    @staticmethod
    def _contacts_by_key(key_accounts: list[Account]) -> dict[tuple[int, str, str], Contact]:
        return {
            (contact.account_id, contact.last_name, contact.first_name): contact
            for contact in Contact.objects.filter(account__in=key_accounts)
        }
