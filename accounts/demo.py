"""Vocabulary shared by the demo and bulk data commands (German company names)."""

from accounts.models import Industry

# Words that end a company name, by industry: "Brandt Maschinenbau GmbH".
NAME_SUFFIXES = {
    Industry.AUTOMOTIVE: ("Automotive", "Fahrzeugtechnik", "Zulieferteile"),
    Industry.MECHANICAL_ENGINEERING: ("Maschinenbau", "Antriebstechnik", "Anlagenbau"),
    Industry.CHEMICALS: ("Chemie", "Pharma", "Kunststoffe"),
    Industry.ELECTRONICS: ("Elektrotechnik", "Sensorik", "Elektronik"),
    Industry.RETAIL: ("Handelshaus", "Großhandel", "Warenhaus"),
    Industry.LOGISTICS: ("Logistik", "Spedition", "Transport"),
    Industry.FOOD: ("Lebensmittel", "Feinkost", "Getränke"),
    Industry.ENERGY: ("Energie", "Stadtwerke", "Solartechnik"),
    Industry.HEALTHCARE: ("Medizintechnik", "Kliniken", "Labordiagnostik"),
    Industry.PUBLIC_SECTOR: ("Verband", "Genossenschaft", "Zweckverband"),
}
