"""Every source the knowledge tables cite, by id: a label and a public URL.

Rows elsewhere cite a source as "<id>" or "<id>: <table or section>", e.g.
"lee2014: Table 3". `cite()` splits that back into the source and the locator.
"""

from __future__ import annotations

from dataclasses import dataclass

RULESET_VERSION = "immunotox-rules 2026.11.1"


@dataclass(frozen=True)
class Source:
    id: str
    label: str
    url: str
    citation: str


SOURCES: dict[str, Source] = {
    s.id: s
    for s in (
        Source(
            "lee2014",
            "Lee 2014 CRS grading (Blood)",
            "https://doi.org/10.1182/blood-2014-05-552729",
            "Lee DW et al. Current concepts in the diagnosis and management of cytokine release "
            "syndrome. Blood 2014;124(2):188-195.",
        ),
        Source(
            "astct2019",
            "ASTCT 2019 CRS consensus",
            "https://doi.org/10.1016/j.bbmt.2018.12.758",
            "Lee DW et al. ASTCT consensus grading for cytokine release syndrome and neurologic "
            "toxicity associated with immune effector cells. Biol Blood Marrow Transplant "
            "2019;25(4):625-638.",
        ),
        Source(
            "ctcae5",
            "CTCAE v5.0",
            "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm",
            "National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE) "
            "v5.0, 2017.",
        ),
        Source(
            "ctcae4",
            "CTCAE v4.03",
            "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/ctc.htm",
            "National Cancer Institute. CTCAE v4.03, 2010 (organ toxicity in Lee 2014 Table 2).",
        ),
        Source(
            "asco2021",
            "ASCO 2021 irAE guideline",
            "https://doi.org/10.1200/JCO.21.01440",
            "Schneider BJ et al. Management of immune-related adverse events in patients treated "
            "with immune checkpoint inhibitor therapy: ASCO guideline update. J Clin Oncol "
            "2021;39(36):4073-4126.",
        ),
        Source(
            "actemra_label",
            "Tocilizumab (Actemra) prescribing information",
            "https://www.accessdata.fda.gov/drugsatfda_docs/label/2022/125276s138lbl.pdf",
            "Genentech. ACTEMRA (tocilizumab) prescribing information, section 2 (CRS dosing).",
        ),
        Source(
            "pembro_crs_qa",
            "Pembrolizumab-induced CRS: management Q&A",
            "",
            "Clinical question-and-answer page: management of pembrolizumab-induced CRS with "
            "rash, acute transverse myelitis and inflammatory arthritis (seed document).",
        ),
        Source(
            "steroid_equivalence",
            "Corticosteroid equivalence (Liu 2013)",
            "https://doi.org/10.1186/1710-1492-9-30",
            "Liu D et al. A practical guide to the monitoring and management of the "
            "complications of systemic corticosteroid therapy. Allergy Asthma Clin Immunol "
            "2013;9:30, Table 1.",
        ),
        Source(
            "sitc2017",
            "SITC 2017 irAE consensus",
            "https://doi.org/10.1186/s40425-017-0300-z",
            "Puzanov I et al. Managing toxicities associated with immune checkpoint inhibitors: "
            "consensus recommendations from the Society for Immunotherapy of Cancer (SITC) "
            "Toxicity Management Working Group. J Immunother Cancer 2017;5:95, Table 1.",
        ),
        Source(
            "eviq_baseline",
            "eviQ immunotherapy blood test recommendations",
            "https://www.eviq.org.au/additional-clinical-information/3549-immunotherapy-blood-test-monitoring-recommend",
            "eviQ, Cancer Institute NSW. Immunotherapy blood test monitoring recommendations "
            "(baseline investigations recommended by ASCO, ESMO and SITC, side by side).",
        ),
        Source(
            "ese_es2024",
            "ESE/Endocrine Society 2024 glucocorticoid-induced adrenal insufficiency guideline",
            "https://doi.org/10.1093/ejendo/lvae029",
            "Beuschlein F et al. European Society of Endocrinology and Endocrine Society Joint "
            "Clinical Guideline: Diagnosis and therapy of glucocorticoid-induced adrenal "
            "insufficiency. Eur J Endocrinol 2024;190(5):G25-G51.",
        ),
        Source(
            "esmo2022",
            "ESMO 2022 toxicity guideline",
            "https://doi.org/10.1016/j.annonc.2022.10.001",
            "Haanen J et al. Management of toxicities from immunotherapy: ESMO Clinical Practice "
            "Guideline for diagnosis, treatment and follow-up. Ann Oncol 2022;33(12):1217-1238.",
        ),
        Source(
            "nccn_irae",
            "NCCN immunotherapy toxicities",
            "https://www.nccn.org/guidelines/category_3",
            "National Comprehensive Cancer Network. NCCN Clinical Practice Guidelines in "
            "Oncology: Management of Immunotherapy-Related Toxicities. Rows citing it say where "
            "the text was read (secondary tables) and that the primary text was not checked.",
        ),
        Source(
            "pals",
            "PALS hypotension by age",
            "https://cpr.heart.org/en/resuscitation-science/cpr-and-ecc-guidelines/pediatric-basic-and-advanced-life-support",
            "American Heart Association. Pediatric Advanced Life Support: hypotension by age "
            "(systolic <60 mm Hg term neonates, <70 mm Hg infants, <70 + 2 × age in years "
            "1-10 years, <90 mm Hg over 10 years).",
        ),
        Source(
            "hagedoorn2019",
            "Hagedoorn 2019 paediatric hypotension definitions",
            "https://pmc.ncbi.nlm.nih.gov/articles/PMC6882047",
            "Hagedoorn NN et al. A comparison of clinical paediatric guidelines for hypotension "
            "with population-based lower centiles: a systematic review. Crit Care 2019;23:380.",
        ),
        Source(
            "haque2007",
            "Haque 2007 lower limits of SBP and MAP in children",
            "https://doi.org/10.1097/01.PCC.0000257039.32593.DC",
            "Haque IU, Zaritsky AL. Analysis of the evidence for the lower limit of systolic and "
            "mean arterial pressure in children. Pediatr Crit Care Med 2007;8(2):138-144.",
        ),
        Source(
            "ceschi2020",
            "Ceschi 2020 checkpoint-inhibitor CRS (VigiBase)",
            "https://doi.org/10.3389/fphar.2020.00557",
            "Ceschi A et al. Immune checkpoint inhibitor-related cytokine release syndrome: "
            "analysis of WHO global pharmacovigilance database. Front Pharmacol 2020;11:557.",
        ),
        Source(
            "blood_adv2024",
            "Post-CAR T monitoring period (Blood Adv 2024)",
            "https://ashpublications.org/bloodadvances/article/8/20/5346/517124",
            "Optimizing the post-CAR T monitoring period in recipients of axicabtagene "
            "ciloleucel, tisagenlecleucel, and lisocabtagene maraleucel. Blood Adv "
            "2024;8(20):5346.",
        ),
        Source(
            "yescarta_label",
            "Axicabtagene ciloleucel (Yescarta) prescribing information",
            "https://www.fda.gov/vaccines-blood-biologics/approved-blood-products/yescarta-axicabtagene-ciloleucel",
            "Kite Pharma. YESCARTA (axicabtagene ciloleucel) prescribing information, 5.1 "
            "Cytokine release syndrome.",
        ),
        Source(
            "kymriah_label",
            "Tisagenlecleucel (Kymriah) prescribing information",
            "https://www.fda.gov/vaccines-blood-biologics/approved-blood-products/kymriah-tisagenlecleucel",
            "Novartis. KYMRIAH (tisagenlecleucel) prescribing information, 5.1 Cytokine "
            "release syndrome.",
        ),
        Source(
            "tecelra_label",
            "Afamitresgene autoleucel (Tecelra) prescribing information",
            "https://www.fda.gov/vaccines-blood-biologics/tecelra",
            "Adaptimmune. TECELRA (afamitresgene autoleucel) prescribing information, 5.1 "
            "Cytokine release syndrome.",
        ),
        Source(
            "bsab_consensus2024",
            "CD3×CD20 bispecific antibody toxicity consensus (Blood 2024)",
            "https://ashpublications.org/blood/article/143/16/1565/514709",
            "Crombie JL et al. Consensus recommendations on the management of toxicity "
            "associated with CD3×CD20 bispecific antibody therapy. Blood 2024;143(16):1565-1575.",
        ),
        Source(
            "asco_iec2021",
            "ASCO 2021 immune effector cell guideline",
            "https://doi.org/10.1200/JCO.21.01992",
            "Santomasso BD et al. Management of immune-related adverse events in patients "
            "treated with chimeric antigen receptor T-cell therapy: ASCO guideline. J Clin Oncol "
            "2021;39(35):3978-3992.",
        ),
        Source(
            "imfinzi_label",
            "Durvalumab (Imfinzi) prescribing information",
            "https://www.ema.europa.eu/en/medicines/human/EPAR/imfinzi",
            "AstraZeneca. IMFINZI (durvalumab): EU summary of product characteristics 4.2 and "
            "4.4 (pneumonitis and radiation pneumonitis); US prescribing information 2 and 5.1.",
        ),
        Source(
            "nccn_infections",
            "NCCN Prevention and Treatment of Cancer-Related Infections",
            "https://www.nccn.org/guidelines/guidelines-detail?category=3&id=1457",
            "National Comprehensive Cancer Network. Prevention and Treatment of Cancer-Related "
            "Infections (PJP prophylaxis).",
        ),
        Source(
            "tecvayli_label",
            "Teclistamab (TECVAYLI) prescribing information",
            "https://api.fda.gov/drug/label.json?search=openfda.brand_name:TECVAYLI",
            "Janssen. TECVAYLI (teclistamab-cqyv) prescribing information: boxed warning and section 2 (CRS dosage modifications).",
        ),
        Source(
            "talvey_label",
            "Talquetamab (TALVEY) prescribing information",
            "https://api.fda.gov/drug/label.json?search=openfda.brand_name:TALVEY",
            "Janssen. TALVEY (talquetamab-tgvs) prescribing information: boxed warning and section 2 (CRS dosage modifications).",
        ),
        Source(
            "columvi_label",
            "Glofitamab (COLUMVI) prescribing information",
            "https://api.fda.gov/drug/label.json?search=openfda.brand_name:COLUMVI",
            "Genentech. COLUMVI (glofitamab-gxbm) prescribing information: boxed warning and section 2 (CRS dosage modifications).",
        ),
        Source(
            "epkinly_label",
            "Epcoritamab (EPKINLY) prescribing information",
            "https://api.fda.gov/drug/label.json?search=openfda.brand_name:EPKINLY",
            "Genmab. EPKINLY (epcoritamab-bysp) prescribing information: boxed warning and section 2 (CRS dosage modifications).",
        ),
        Source(
            "lunsumio_label",
            "Mosunetuzumab (LUNSUMIO) prescribing information",
            "https://api.fda.gov/drug/label.json?search=openfda.brand_name:LUNSUMIO",
            "Genentech. LUNSUMIO (mosunetuzumab-axgb) prescribing information: boxed warning and section 2 (CRS dosage modifications).",
        ),
        Source(
            "sps_crs",
            "SPS review: anakinra or siltuximab after tocilizumab",
            "https://www.sps.nhs.uk/articles/evidence-for-use-of-siltuximab-or-anakinra-as-second-line-therapies-after-failure-of-tocilizumab-for-cytokine-release-syndrome-following-use-of-chimeric-antigen-receptor-t-cell-car-t-therapy/",
            "Specialist Pharmacy Service (NHS). Evidence for use of siltuximab or anakinra as second line therapies (after failure of tocilizumab) for CRS following CAR-T therapy: both unlicensed for this indication.",
        ),
        Source(
            "neelapu2018",
            "CARTOX 2018 CAR T toxicity recommendations",
            "https://doi.org/10.1038/nrclinonc.2017.148",
            "Neelapu SS et al. Chimeric antigen receptor T-cell therapy: assessment and management of toxicities. Nat Rev Clin Oncol 2018;15:47-62 (read as tabulated in Front Immunol 2022, PMC9616161, Table 4).",
        ),
        Source(
            "miami_tce",
            "T-cell engager CRS protocol (University of Miami)",
            "http://ash-sap.org/view-large/12860683",
            "CRS management strategies for T-cell engaging therapies at the Myeloma Institute, University of Miami (ASH publication, Table 3): one centre's protocol.",
        ),
        Source(
            "blood_adv2022_anakinra",
            "Anakinra in paediatric CAR T toxicities (Blood Adv 2022)",
            "https://ashpublications.org/bloodadvances/article/6/11/3398/484638",
            "Anakinra utilization in refractory pediatric CAR T-cell therapy-associated toxicities. Blood Adv 2022;6(11):3398, Table 1 (multi-institutional dosing).",
        ),
        Source(
            "hines2023",
            "IEC-HS (Hines 2023)",
            "https://doi.org/10.1016/j.jtct.2023.03.006",
            "Hines MR et al. Immune effector cell-associated hemophagocytic lymphohistiocytosis-"
            "like syndrome. Transplant Cell Ther 2023;29(7):438.e1-438.e16.",
        ),
        Source(
            "vancrevel2002",
            "Lumbar puncture and herniation (van Crevel 2002)",
            "https://doi.org/10.1007/PL00007855",
            "van Crevel H, Hijdra A, de Gans J. Lumbar puncture and the risk of herniation: when "
            "should we first perform CT? J Neurol 2002;249(2):129-137.",
        ),
        Source(
            "hlh2004",
            "HLH-2004 diagnostic criteria",
            "https://doi.org/10.1002/pbc.21039",
            "Henter JI et al. HLH-2004: diagnostic and therapeutic guidelines for hemophagocytic "
            "lymphohistiocytosis. Pediatr Blood Cancer 2007;48(2):124-131.",
        ),
        Source(
            "immunotox",
            "immunotox convention",
            "",
            "A convention of this product where the sources are silent; documented in "
            "docs/clinical-rules.md and open to local review.",
        ),
    )
}


# The CRS grading systems, by the id the rules, grades and trajectory use, with the name
# clinicians know them by (one home: cards, page, timeline and text all show these).
GRADING_SYSTEMS: dict[str, str] = {
    "lee2014": "Lee 2014",
    "astct2019": "ASTCT 2019",
    "ctcae5": "CTCAE v5.0",
}


def cite(ref: str) -> tuple[Source, str]:
    """Split "lee2014: Table 3" into (Source, "Table 3")."""
    sid, _, locator = ref.partition(":")
    return SOURCES[sid.strip()], locator.strip()
