"""Management of each irAE, grade by grade: one row a step (a drug regimen, a consult, a work-up,
an admission, a caution), each with its source. The modules of `services.plan` (one a condition)
read their rows from here; doses are rows of `knowledge.dosing` named by `regimen`.

Sources: ASCO 2021 (Schneider BJ et al., J Clin Oncol 2021;39:4073-4126), organ tables as
printed in the ASCO guideline app bundle (tables 1-10), read for this release; ESMO 2022 and
NCCN where they differ, each marked with where it was read and "not verified" where the primary
text was not checked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    kind: str  # irAE kind (knowledge.irae.KINDS)
    grades: tuple[int, ...] | None  # None: any grade, also an unknown grade
    id: str  # recommendation id (shared ids merge across irAEs)
    category: str  # immunosuppression | consult | supportive | workup | admission | caution | procedure | endocrine
    text: str
    source: str
    regimen: str | None = None  # knowledge.dosing regimen id: a dosed drug line
    urgency: str = "routine"
    service: str | None = None  # consult, admission or procedure name
    alternative_to: str | None = None
    drug: str | None = None  # a drug named without a computed dose
    dose_note: str | None = None  # why that drug has no dose here
    when: str | None = None  # a flag the module sets (e.g. "mass_effect"); None: always
    # A later or conditional step ("if steroid-refractory after 3 days"): shown, never offered as
    # an order to sign now.
    only_if: str | None = None


A = "asco2021"
G1, G2, G3, G4 = (1,), (2,), (3,), (4,)
G12, G23, G34, G234 = (1, 2), (2, 3), (3, 4), (2, 3, 4)

# fmt: off
STEPS: tuple[Step, ...] = (
    # ================= Colitis and diarrhoea: ASCO 2021 Table 2.1 ================================
    Step("colitis", None, "colitis.exclude_infection", "workup", "Stool tests for infection (C. difficile, culture, ova and parasites) before immunosuppression; loperamide only once infection is ruled out",
         f"{A}: Table 2.1 colitis (work-up, G1-G2 supportive care)"),
    Step("colitis", G1, "colitis.g1.monitor", "supportive", "Continue; hydration and diet; review every 3 days by phone; gastroenterology and endoscopy if it lasts",
         f"{A}: Table 2.1 colitis G1"),
    Step("colitis", G234, "consult.gastroenterology", "consult", "Gastroenterology consult; endoscopy with biopsies", f"{A}: Table 2.1 colitis G2-G4",
         service="Gastroenterology consult"),
    Step("colitis", G2, "colitis.g2.prednisone", "immunosuppression", "", f"{A}: Table 2.1 colitis G2", regimen="prednisone.colitis_g2"),
    Step("colitis", G34, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 2.1 colitis G3 (1-2 mg/kg/day, consider IV) and G4 (IV methylprednisolone 1-2 mg/kg/day)",
         regimen="methylprednisolone.high", urgency="urgent"),
    Step("colitis", G234, "infliximab.colitis", "immunosuppression", "", f"{A}: Table 2.1 colitis (steroid-refractory after 3 days, or early with high-risk endoscopy)",
         regimen="infliximab.5", only_if="if no response to steroids after 3 days, or high-risk endoscopy"),
    Step("colitis", G234, "vedolizumab.colitis", "immunosuppression", "", f"{A}: Table 2.1 colitis (infliximab or vedolizumab)", regimen="vedolizumab.300",
         alternative_to="infliximab.colitis", only_if="if no response to steroids after 3 days, or high-risk endoscopy"),
    Step("colitis", G34, "admission.colitis", "admission", "Admit for dehydration or electrolyte imbalance (grade 4: inpatient care)", f"{A}: Table 2.1 colitis G3-G4",
         urgency="urgent", service="Hospital admission"),
    # ================= Hepatitis: ASCO 2021 Table 2.2 ============================================
    Step("hepatitis", None, "hepatitis.workup", "workup", "Rule out viral hepatitis, alcohol, other drugs, thrombosis and liver metastases (serology, ultrasound/cross-sectional imaging)",
         f"{A}: Table 2.2 hepatitis (work-up for grade ≥2)"),
    Step("hepatitis", G1, "hepatitis.g1.monitor", "supportive", "Continue with liver tests 1-2 times a week; no treatment for grade 1", f"{A}: Table 2.2 hepatitis G1"),
    Step("hepatitis", G2, "hepatitis.g2.prednisone", "immunosuppression", "Prednisone 0.5-1 mg/kg/day by mouth if no improvement; taper over at least 4 weeks",
         f"{A}: Table 2.2 hepatitis G2 (dose as the general grade 2 rule: the G2 text read was cut, not verified)", regimen="prednisone.moderate",
         when="no_viral_hepatitis"),
    Step("hepatitis", None, "hepatitis.viral_first", "caution", "Chronic viral hepatitis is recorded: HBV DNA (and HCV RNA) before any corticosteroid; keep antiviral treatment; "
         "a flare or tumour progression can look the same", f"{A}: Table 2.2 hepatitis (work-up: viral hepatitis, reactivation of chronic hepatitis)",
         urgency="urgent", when="viral_hepatitis"),
    Step("hepatitis", G3, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 2.2 hepatitis G3 (immediately methylprednisolone 1-2 mg/kg)",
         regimen="methylprednisolone.high", urgency="urgent"),
    Step("hepatitis", G4, "hepatitis.g4.methylprednisolone", "immunosuppression", "", f"{A}: Table 2.2 hepatitis G4 (2 mg/kg/day methylprednisolone)",
         regimen="methylprednisolone.2", urgency="urgent"),
    Step("hepatitis", G34, "hepatitis.second_line", "immunosuppression", "Steroid-refractory: consider a liver biopsy, then mycophenolate or azathioprine once infection is ruled out",
         f"{A}: Table 2.2 hepatitis G3 (no dose in the table, and the mycophenolate row of Table A2 was not found in the copy read, so no dose is given)",
         drug="mycophenolate mofetil", dose_note="Dose per hepatology"),
    Step("hepatitis", G234, "hepatitis.no_infliximab", "caution", "Do not use infliximab for immune hepatitis", f"{A}: Table 2.2 hepatitis, additional considerations (infliximab is contraindicated)",
         urgency="urgent"),
    Step("hepatitis", G34, "consult.hepatology", "consult", "Hepatology consult; daily or alternate-day liver tests; inpatient monitoring for AST/ALT >8× ULN or bilirubin >3× ULN",
         f"{A}: Table 2.2 hepatitis G3-G4", service="Hepatology consult"),
    # ================= Pneumonitis: ASCO 2021 Table 3.1 ==========================================
    Step("pneumonitis", None, "pneumonitis.workup", "workup", "Pulse oximetry, CT chest; from grade 2 infection work-up (nasal swab, sputum, blood and urine cultures), COVID-19 test",
         f"{A}: Table 3.1 pneumonitis (work-up)"),
    Step("pneumonitis", None, "pneumonitis.radiation_overlap", "caution",
         "Radiation pneumonitis is recorded: on a checkpoint inhibitor it cannot be told apart from immune pneumonitis, so it is "
         "managed as pneumonitis (the drug held, corticosteroids at pneumonitis doses); radiation remains a competing cause "
         "(check the radiation field and timing before any rechallenge)",
         f"{A}: Table 3.1 pneumonitis (managed by grade); imfinzi_label: EU SmPC 4.4 pneumonitis and radiation pneumonitis "
         "(the clinical presentation is very similar, read in the 2024 SmPC), US PI 5.1 (PACIFIC: pneumonitis including "
         "radiation pneumonitis 34% after chemoradiation)", urgency="urgent", when="radiation"),
    Step("pneumonitis", G1, "pneumonitis.g1.monitor", "supportive", "Weekly review with pulse oximetry; repeat chest imaging in 3-4 weeks; treat as grade 2 if no better",
         f"{A}: Table 3.1 pneumonitis G1"),
    Step("pneumonitis", G2, "pneumonitis.g2.prednisone", "immunosuppression", "", f"{A}: Table 3.1 pneumonitis G2", regimen="prednisone.pneumonitis_g2"),
    Step("pneumonitis", G2, "pneumonitis.g2.bronchoscopy", "workup", "Consider bronchoscopy with lavage; empiric antibiotics if infection is still possible; treat as grade 3 if no better after 48-72 h",
         f"{A}: Table 3.1 pneumonitis G2"),
    Step("pneumonitis", G34, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 3.1 pneumonitis G3-G4 (methylprednisolone IV 1-2 mg/kg/day)",
         regimen="methylprednisolone.high", urgency="urgent"),
    Step("pneumonitis", G34, "pneumonitis.esmo", "immunosuppression", "", "esmo2022: pneumonitis G3-G4 (methylprednisolone 2-4 mg/kg/day, read from the ESMO table in J Med Case Rep 2021, Table 1, not verified against ESMO 2022)",
         regimen="methylprednisolone.pneumonitis_esmo", alternative_to="methylprednisolone.high"),
    Step("pneumonitis", G34, "infliximab.pneumonitis", "immunosuppression", "No better after 48 h: add infliximab, mycophenolate IV, IVIG or cyclophosphamide",
         f"{A}: Table 3.1 pneumonitis G3-G4", regimen="infliximab.5", only_if="if no improvement after 48 hours of methylprednisolone"),
    Step("pneumonitis", G34, "mycophenolate.pneumonitis", "immunosuppression", "", f"{A}: Table 3.1 pneumonitis G3-G4", regimen="mycophenolate.1g",
         alternative_to="infliximab.pneumonitis", only_if="if no improvement after 48 hours of methylprednisolone"),
    Step("pneumonitis", G34, "pneumonitis.antibiotics", "supportive", "Consider empiric antibiotics", f"{A}: Table 3.1 pneumonitis G3"),
    Step("pneumonitis", G34, "admission.pneumonitis", "admission", "Admit; pulmonary and infectious-disease consults", f"{A}: Table 3.1 pneumonitis G3 (hospitalization required)",
         urgency="urgent", service="Hospital admission"),
    # ================= Myocarditis (and the myositis-myasthenia overlap): ASCO 2021 Table 9.1 =====
    Step("myocarditis", None, "myocarditis.workup", "workup", "ECG, troponin (repeat in 6 hours), CK, BNP, echocardiogram, chest X-ray; look for myositis and myasthenia ('triple M')",
         f"{A}: Table 9.1 myocarditis (work-up)", urgency="urgent"),
    Step("myocarditis", (2, 3, 4), "admission.cardiac", "admission", "Admit with cardiology consult; consider coronary care unit for raised troponin or conduction abnormality (pacemaker for new conduction delay)",
         f"{A}: Table 9.1 myocarditis G≥2", urgency="urgent", service="Cardiology consult and admission"),
    Step("myocarditis", G1, "consult.cardiology", "consult", "Cardiology consult", f"{A}: Table 9.1 myocarditis (all grades warrant work-up)", service="Cardiology consult"),
    Step("myocarditis", (2, 3, 4), "myocarditis.prednisone", "immunosuppression", "", f"{A}: Table 9.1 myocarditis G≥2 (1-2 mg/kg/day within 24 hours)",
         regimen="prednisone.myocarditis", urgency="urgent"),
    Step("myocarditis", (2, 3, 4), "methylprednisolone.pulse", "immunosuppression", "No immediate response: methylprednisolone 1 g/day IV (transplant-rejection dose) with mycophenolate, infliximab or anti-thymocyte globulin",
         f"{A}: Table 9.1 myocarditis G≥2", regimen="methylprednisolone.pulse", alternative_to="myocarditis.prednisone", only_if="if there is no immediate response to 1-2 mg/kg"),
    Step("myocarditis", (2, 3, 4), "myocarditis.esmo", "immunosuppression",
         "ESMO 2022 starts with pulse methylprednisolone 1 g/day IV for 3-5 days at once (not after a trial of 1-2 mg/kg), then prednisone 1 mg/kg/day tapered "
         "over 6-12 weeks",
         "esmo2022: myocarditis (IV methylprednisolone 1 g/day for 3-5 days, then oral prednisone 1 mg/kg/day, as tabulated in the ASCO/ESMO/NCCN comparison "
         "of the BMS medical-information page bmshkmedinfo.com, not verified against the Ann Oncol text)",
         regimen="methylprednisolone.pulse", alternative_to="myocarditis.prednisone", urgency="urgent"),
    Step("myocarditis", (2, 3, 4), "myocarditis.infliximab_caution", "caution", "Infliximab: avoid doses above 5 mg/kg in moderate-severe heart failure",
         f"{A}: Table A2 contraindications and cautions (verified in the Guideline Central copy: infliximab at doses >5 mg/kg is contraindicated in moderate "
         "to severe heart failure)"),
    Step("myocarditis", None, "overlap.triple_m", "caution", "Myocarditis with myositis or myasthenia ('triple M'): admit; manage each section; permanently discontinue",
         f"{A}: Table 9.1 myocarditis (triple M), Table 5.2 myositis footnote", urgency="urgent", when="overlap"),
    # ================= Myositis: ASCO 2021 Table 5.2 =============================================
    Step("myositis", None, "myositis.workup", "workup", "CK, aldolase, transaminases, troponin (myocarditis), anti-AChR antibodies (myasthenia), ESR/CRP; EMG/MRI/biopsy if unclear",
         f"{A}: Table 5.2 myositis (work-up)"),
    Step("myositis", G1, "myositis.g1.analgesia", "supportive", "Continue; acetaminophen or NSAIDs for pain", f"{A}: Table 5.2 myositis G1 (not read in this release: general grade 1 rule)"),
    Step("myositis", G234, "consult.rheumatology", "consult", "Rheumatology or neurology consult (urgent from grade 3)", f"{A}: Table 5.2 myositis G2-G4",
         service="Rheumatology consult"),
    Step("myositis", G2, "myositis.g2.prednisone", "immunosuppression", "If CK ≥3× ULN: prednisone 0.5-1 mg/kg/day by mouth", f"{A}: Table 5.2 myositis G2",
         regimen="prednisone.moderate"),
    Step("myositis", G34, "myositis.prednisone", "immunosuppression", "", f"{A}: Table 5.2 myositis G3-G4 (prednisone 1 mg/kg/day)", regimen="prednisone.1", urgency="urgent"),
    Step("myositis", G34, "methylprednisolone.high", "immunosuppression", "Severe compromise (weakness limiting mobility, breathing or swallowing): methylprednisolone 1-2 mg/kg IV or a higher bolus",
         f"{A}: Table 5.2 myositis G3-G4", regimen="methylprednisolone.high", alternative_to="myositis.prednisone"),
    Step("myositis", G34, "plasma_exchange", "procedure", "Plasmapheresis for acute severe disease, or IVIG (slower); plasmapheresis right after IVIG removes it",
         f"{A}: Table 5.2 myositis G3-G4", service="Plasma exchange"),
    Step("myositis", G34, "admission.myositis", "admission", "Admit for severe weakness, breathing or swallowing difficulty, or rhabdomyolysis", f"{A}: Table 5.2 myositis G3-G4",
         urgency="urgent", service="Hospital admission"),
    # Overlap: myositis with myocarditis or myasthenia is admitted and managed as those sections.
    Step("myositis", None, "overlap.triple_m", "caution", "Myositis with myocarditis or myasthenia ('triple M'): admit; manage as myocarditis and myasthenia; permanently discontinue",
         f"{A}: Table 5.2 myositis footnote, Table 9.1 myocarditis", urgency="urgent", when="overlap"),
    # ================= Nephritis: ASCO 2021 Table 6 ==============================================
    Step("nephritis", None, "nephritis.workup", "workup", "Review fluids and nephrotoxic drugs (stop PPIs); urinalysis and protein, urine culture; renal ultrasound for obstruction",
         f"{A}: Table 6.1 nephritis (work-up, as compared in Kidney Med 2021, 3:1074, Table 1)"),
    Step("nephritis", G234, "consult.nephrology", "consult", "Nephrology consult; consider kidney biopsy if other causes cannot be ruled out", f"{A}: Table 6.1 nephritis G2-G4",
         service="Nephrology consult"),
    Step("nephritis", G2, "nephritis.g2.prednisone", "immunosuppression", "Prednisone 0.5-1 mg/kg/day; treat as grade 3 if creatinine stays up >7 days or rises",
         f"{A}: Table 6.1-6.2 nephritis G2", regimen="prednisone.moderate"),
    Step("nephritis", G34, "nephritis.prednisone", "immunosuppression", "", f"{A}: Table 6.1 nephritis G3-G4 (1-2 mg/kg/day)", regimen="prednisone.1to2", urgency="urgent"),
    Step("nephritis", G34, "nephritis.second_line", "immunosuppression", "Creatinine up >3-5 days (grade 4: >2-3 days) on steroids: add infliximab, azathioprine, cyclophosphamide, cyclosporine or mycophenolate",
         f"{A}: Table 6.2 nephritis follow-up G3-G4"),
    Step("nephritis", G34, "admission.nephritis", "admission", "Admit; grade 4 where dialysis is available", f"{A}: Table 6.1 nephritis G3-G4 (hospitalization indicated)",
         urgency="urgent", service="Hospital admission"),
    # ================= Thyroid: ASCO 2021 Table 4.1 (no immunosuppressive steroids) ==============
    Step("hypothyroidism", None, "thyroid.no_steroids", "caution", "Thyroid irAEs are treated with hormone replacement or a beta-blocker, not immunosuppressive corticosteroids",
         f"{A}: Table 4.1 thyroid (no corticosteroid in the thyroid sections)"),
    Step("hypothyroidism", G1, "thyroid.g1.monitor", "supportive", "Continue; TSH (± free T4) every 4-6 weeks", f"{A}: Table 4.1.1 primary hypothyroidism G1"),
    Step("hypothyroidism", G234, "levothyroxine.replacement", "endocrine", "", f"{A}: Table 4.1.1 primary hypothyroidism G2 (thyroid hormone for symptoms or TSH >10 mIU/L)",
         regimen="levothyroxine.replacement"),
    Step("hypothyroidism", G234, "thyroid.central_first", "caution", "If central hypothyroidism is possible (low TSH with low free T4), give hydrocortisone before thyroid hormone",
         f"{A}: Table 4.1.1 primary hypothyroidism G3-G4"),
    Step("hypothyroidism", G34, "consult.endocrinology", "consult", "Endocrinology consult; admit for myxoedema (bradycardia, hypothermia, altered mental state); IV levothyroxine per endocrinology",
         f"{A}: Table 4.1.1 primary hypothyroidism G3-G4", urgency="urgent", service="Endocrinology consult"),
    Step("hyperthyroidism", None, "thyroid.no_steroids", "caution", "Thyroid irAEs are treated with hormone replacement or a beta-blocker, not immunosuppressive corticosteroids",
         f"{A}: Table 4.1 thyroid (no corticosteroid in the thyroid sections)"),
    Step("hyperthyroidism", None, "beta_blocker.thyroid", "supportive", "", f"{A}: Table 4.1.2 thyrotoxicosis (beta-blocker, e.g. atenolol or propranolol, for symptoms)",
         regimen="atenolol.thyroid"),
    Step("hyperthyroidism", None, "thyroid.monitor", "supportive", "Thyroid function every 2-3 weeks: most thyroiditis turns to hypothyroidism, then treat as primary hypothyroidism",
         f"{A}: Table 4.1.2 thyrotoxicosis"),
    Step("hyperthyroidism", G234, "consult.endocrinology", "consult", "Endocrinology consult (all grade 3-4; persistent thyrotoxicosis >6 weeks: work-up for Graves disease)",
         f"{A}: Table 4.1.2 thyrotoxicosis G2-G4", service="Endocrinology consult"),
    # Thyroiditis (coded as such): the thyrotoxic phase, then hypothyroidism.
    Step("thyroiditis", None, "thyroid.no_steroids", "caution", "Thyroid irAEs are treated with hormone replacement or a beta-blocker, not immunosuppressive corticosteroids",
         f"{A}: Table 4.1 thyroid (no corticosteroid in the thyroid sections)"),
    Step("thyroiditis", None, "beta_blocker.thyroid", "supportive", "", f"{A}: Table 4.1.2 thyrotoxicosis (beta-blocker for symptoms)", regimen="atenolol.thyroid",
         when="thyrotoxic"),
    Step("thyroiditis", None, "thyroid.monitor", "supportive", "Thyroid function every 2-3 weeks: most thyroiditis turns to hypothyroidism, then treat as primary hypothyroidism",
         f"{A}: Table 4.1.2 thyrotoxicosis, additional considerations"),
    Step("thyroiditis", G234, "consult.endocrinology", "consult", "Endocrinology consult", f"{A}: Table 4.1.2 thyrotoxicosis G2-G4", service="Endocrinology consult"),
    # ================= Hypophysitis: ASCO 2021 Table 4.3 =========================================
    Step("hypophysitis", None, "consult.endocrinology", "consult", "Endocrinology consult; ACTH, cortisol, TSH, free T4, electrolytes; MRI pituitary; education on stress dosing and a medical alert",
         f"{A}: Table 4.3 hypophysitis (all grades)", service="Endocrinology consult"),
    Step("hypophysitis", None, "hydrocortisone.replacement", "endocrine", "", f"{A}: Table 4.3 hypophysitis G1 (hydrocortisone 15-20 mg in divided doses, see 4.2)",
         regimen="hydrocortisone.replacement"),
    Step("hypophysitis", None, "hypophysitis.order", "caution", "Start hydrocortisone before any thyroid hormone (other hormones first can precipitate adrenal crisis)",
         f"{A}: Table 4.3 hypophysitis G1 and additional considerations"),
    Step("hypophysitis", None, "hypophysitis.no_high_dose", "caution", "No high-dose corticosteroids without mass effect (swelling, chiasm compression, severe headache, visual change)",
         f"{A}: Table 4.3 hypophysitis (pulse-dose steroid only with MRI swelling or threatened chiasm, average <7.5 mg/day prednisone otherwise)", when="no_mass_effect"),
    Step("hypophysitis", G34, "hydrocortisone.stress_iv", "endocrine", "", f"{A}: Table 4.3 hypophysitis G3-G4 (IV stress-dose hydrocortisone, saline ≥2 L)",
         regimen="hydrocortisone.stress_iv", urgency="urgent"),
    Step("hypophysitis", (2, 3, 4), "hypophysitis.mass_effect", "immunosuppression", "", "esmo2022: hypophysitis with mass effect (methylprednisolone 1 mg/kg/day IV, as summarised from ESMO/UK endocrine guidance, not verified against ESMO 2022); "
         f"{A}: Table 4.3 hypophysitis (oral pulse-dose steroid tapered over 1-2 weeks, dose not stated in the text read)",
         regimen="methylprednisolone.1", urgency="urgent", when="mass_effect"),
    Step("hypophysitis", G34, "admission.endocrine", "admission", "Admit (emergency department) for IV saline ≥2 L and stress-dose steroids; monitored water replacement if diabetes insipidus",
         f"{A}: Table 4.3 hypophysitis G3-G4", urgency="urgent", service="Hospital admission"),
    # ================= Primary adrenal insufficiency: ASCO 2021 Table 4.2 ========================
    # Suspected adrenal crisis (grade 3-4, or hypotension: services.plan.adrenal_insufficiency):
    # stress-dose IV hydrocortisone and saline now, without waiting for results.
    Step("adrenal_insufficiency", None, "adrenal.crisis", "caution",
         "Suspected adrenal crisis: IV hydrocortisone and IV saline now; do not wait for cortisol or ACTH results (draw them first only if "
         "that causes no delay); look for a precipitating infection",
         f"{A}: Table 4.2 primary adrenal insufficiency G3-G4 (saline at least 2 L, IV stress-dose hydrocortisone); esmo2022: endocrine "
         "toxicities (diagnostic measures should never delay steroid replacement, read in the ESMO-based immunotox.lu adrenalitis page)",
         urgency="urgent", when="crisis_no_stress_dose"),
    Step("adrenal_insufficiency", None, "adrenal.crisis", "caution",
         "Suspected adrenal crisis with stress-dose hydrocortisone under way (below): IV saline at least 2 L; look for a precipitating infection",
         f"{A}: Table 4.2 primary adrenal insufficiency G3-G4 (saline at least 2 L, IV stress-dose hydrocortisone)",
         urgency="urgent", when="crisis_stress_given"),
    Step("adrenal_insufficiency", None, "hydrocortisone.crisis_bolus", "endocrine", "", "esmo2022: endocrine toxicities, primary adrenal insufficiency, severe",
         regimen="hydrocortisone.crisis_bolus", urgency="urgent", when="crisis_no_stress_dose"),
    Step("adrenal_insufficiency", None, "hydrocortisone.stress_iv", "endocrine", "", f"{A}: Table 4.2 primary adrenal insufficiency G3-G4 (hydrocortisone 50-100 mg IV every 6-8 h)",
         regimen="hydrocortisone.stress_iv", urgency="urgent", when="crisis"),
    Step("adrenal_insufficiency", None, "admission.endocrine", "admission", "Admit for IV saline ≥2 L and stress-dose steroids; look for a precipitating infection",
         f"{A}: Table 4.2 primary adrenal insufficiency G3-G4", urgency="urgent", service="Hospital admission", when="crisis"),
    Step("adrenal_insufficiency", None, "consult.endocrinology", "consult", "Urgent endocrinology consult; then education on stress dosing, emergency injection and a medical alert",
         f"{A}: Table 4.2 primary adrenal insufficiency G3-G4 (endocrine consultation)", urgency="urgent", service="Endocrinology consult", when="crisis"),
    Step("adrenal_insufficiency", None, "consult.endocrinology", "consult", "Endocrinology consult; education on stress dosing, emergency injection and a medical alert",
         f"{A}: Table 4.2 primary adrenal insufficiency (all grades)", service="Endocrinology consult", when="no_crisis"),
    Step("adrenal_insufficiency", None, "hydrocortisone.replacement", "endocrine", "", f"{A}: Table 4.2 primary adrenal insufficiency G1 (hydrocortisone 15-20 mg in divided doses, up to 30 mg/day)",
         regimen="hydrocortisone.replacement", when="no_crisis"),
    Step("adrenal_insufficiency", None, "fludrocortisone", "endocrine", "Fludrocortisone (most primary adrenal insufficiency needs it)",
         f"{A}: Table 4.2 primary adrenal insufficiency G1-G2 (the Guideline Central copy prints '0.5–0.1 mg/day', so no dose is computed)",
         drug="fludrocortisone", dose_note="Dose per endocrinology", when="no_crisis"),
    Step("adrenal_insufficiency", G2, "hydrocortisone.stress_oral", "endocrine", "", f"{A}: Table 4.2 primary adrenal insufficiency G2 (2-3 times maintenance for 2 days)",
         regimen="hydrocortisone.stress_oral", when="no_crisis"),
    # ================= Type 1 diabetes / DKA: ASCO 2021 Table 4.4 ================================
    Step("type1_diabetes", None, "diabetes.no_steroids", "caution", "Insulin, not corticosteroids: immune diabetes is not reversed by steroids and they worsen glucose",
         f"{A}: Table 4.4 diabetes (insulin for all, no corticosteroid in the section)"),
    Step("type1_diabetes", G234, "insulin.start", "endocrine", "", f"{A}: Table 4.4 diabetes, additional considerations (0.3-0.4 units/kg/day, half basal, half prandial)",
         regimen="insulin.start"),
    Step("type1_diabetes", G234, "consult.endocrinology", "consult", "Urgent endocrinology consult for new immune diabetes; ketones, anion gap, C-peptide, GAD and islet antibodies",
         f"{A}: Table 4.4 diabetes G2-G4", urgency="urgent", service="Endocrinology consult"),
    Step("type1_diabetes", G34, "admission.dka", "admission", "Admit for diabetic ketoacidosis: fluids, electrolytes and insulin", f"{A}: Table 4.4 diabetes G3-G4",
         urgency="urgent", service="Hospital admission"),
    Step("type1_diabetes", G1, "diabetes.g1.monitor", "supportive", "Continue with close follow-up of glucose", f"{A}: Table 4.4 diabetes G1"),
    # ================= Maculopapular rash: ASCO 2021 Table 1.1 ===================================
    Step("rash", G12, "rash.topical", "supportive", "Emollients and a topical corticosteroid; oral antihistamine for itch", f"{A}: Table 1.1 rash G1-G2"),
    Step("rash", G2, "prednisone.moderate", "immunosuppression", "Consider prednisone 0.5-1 mg/kg/day by mouth if no better with topical treatment, tapered over 4 weeks",
         f"{A}: Table 1.1 rash G2", regimen="prednisone.moderate"),
    Step("rash", G2, "consult.dermatology", "consult", "Consider dermatology referral, above all if an autoimmune skin disease is suspected or it is no better on topical treatment",
         f"{A}: Table 1.1 rash (work-up: consider referral to dermatologist if autoimmune skin disease is suspected); esmo2022: skin toxicity G2 "
         "(consider dermatology referral, as compared with ASCO in Curr Oncol 2020, PMC7194002, not verified against ESMO 2022)",
         service="Dermatology consult"),
    Step("rash", G34, "consult.dermatology", "consult", "Dermatology consult", f"{A}: Table 1.1 rash G3-G4", service="Dermatology consult"),
    Step("rash", G3, "prednisone.rash_g3", "immunosuppression", "", f"{A}: Table 1.1 rash G3", regimen="prednisone.rash_g3"),
    Step("rash", G4, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 1.1 rash G4 (IV methylprednisolone 1-2 mg/kg)", regimen="methylprednisolone.high",
         urgency="urgent"),
    Step("rash", G4, "admission.skin", "admission", "Admit with urgent dermatology; watch for progression to a severe cutaneous reaction (SJS/TEN, DRESS)",
         f"{A}: Table 1.1 rash G4", urgency="urgent", service="Hospital admission"),
    # ================= SJS/TEN and DRESS: ASCO 2021 Table 1.3 ====================================
    *(s for k in ("sjs_ten", "dress") for s in (
        Step(k, None, "consult.dermatology", "consult", "Urgent dermatology consult; examine all mucous membranes; skin biopsy; CBC, liver and kidney tests",
             f"{A}: Table 1.3 severe cutaneous adverse reactions", urgency="urgent", service="Dermatology consult"),
        Step(k, None, "admission.burn_unit", "admission", "Admit to a burn unit or ICU with wound care; fluids, electrolytes, infection prevention",
             f"{A}: Table 1.3 severe cutaneous adverse reactions G3-G4", urgency="urgent", service="Burn unit / ICU admission"),
        Step(k, (3,), "scar.methylprednisolone", "immunosuppression", "", f"{A}: Table 1.3 severe cutaneous adverse reactions G3 (IV methylprednisolone 0.5-1 mg/kg, wean over ≥4 weeks)",
             regimen="methylprednisolone.scar", urgency="urgent"),
        Step(k, None, "scar.methylprednisolone.ungraded", "immunosuppression", "", f"{A}: Table 1.3 severe cutaneous adverse reactions G3 (IV methylprednisolone 0.5-1 mg/kg), applied when no grade is recorded",
             regimen="methylprednisolone.scar", urgency="urgent", when="ungraded"),
        Step(k, (4,), "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 1.3 severe cutaneous adverse reactions G4 (dose not in the text read: 1-2 mg/kg as rash G4, not verified)",
             regimen="methylprednisolone.high", urgency="urgent"),
        Step(k, None, "scar.mucosal_consults", "consult", "Mucosal involvement: ophthalmology, ENT, urology or gynaecology as needed", f"{A}: Table 1.3 severe cutaneous adverse reactions G3"),
    )),
    # ================= Bullous dermatoses: ASCO 2021 Table 1.2 ===================================
    Step("bullous_dermatitis", G1, "bullous.g1.local", "supportive", "Local wound care and observation; symptomatic blisters are grade 2", f"{A}: Table 1.2 bullous dermatoses G1"),
    Step("bullous_dermatitis", G234, "consult.dermatology", "consult", "Dermatology consult (biopsy, direct immunofluorescence, steroid-sparing options)", f"{A}: Table 1.2 bullous dermatoses G2-G4",
         service="Dermatology consult"),
    Step("bullous_dermatitis", G2, "bullous.g2.prednisone", "immunosuppression", "High-potency topical steroid; low threshold for prednisone 0.5-1 mg/kg/day tapered over ≥4 weeks",
         f"{A}: Table 1.2 bullous dermatoses G2", regimen="prednisone.moderate"),
    Step("bullous_dermatitis", G34, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 1.2 bullous dermatoses G3-G4 (IV methylprednisolone 1-2 mg/kg)",
         regimen="methylprednisolone.high", urgency="urgent"),
    Step("bullous_dermatitis", G34, "bullous.steroid_sparing", "immunosuppression", "Bullous pemphigoid: IVIG or rituximab as steroid-sparing options (with dermatology)", f"{A}: Table 1.2 bullous dermatoses G3"),
    Step("bullous_dermatitis", G4, "admission.skin", "admission", "Admit under dermatology", f"{A}: Table 1.2 bullous dermatoses G4", urgency="urgent", service="Hospital admission"),
    # ================= Guillain-Barré syndrome: ASCO 2021 Table 7.2 ==============================
    Step("guillain_barre", None, "consult.neurology", "consult", "Urgent neurology consult; MRI spine, lumbar puncture, nerve conduction studies; frequent neuro checks and pulmonary function tests",
         f"{A}: Table 7.2 Guillain-Barré syndrome", urgency="urgent", service="Neurology consult"),
    Step("guillain_barre", None, "admission.neuro", "admission", "Admit to a unit able to transfer to ICU at once; watch for autonomic dysfunction",
         f"{A}: Table 7.2 Guillain-Barré syndrome G2-G4", urgency="urgent", service="Hospital admission"),
    Step("guillain_barre", None, "ivig.neuro", "immunosuppression", "", f"{A}: Table 7.2 Guillain-Barré syndrome (IVIG 0.4 g/kg/day for 5 days, total 2 g/kg, or plasmapheresis)",
         regimen="ivig.neuro", urgency="urgent"),
    Step("guillain_barre", None, "plasma_exchange", "procedure", "Plasma exchange, as an alternative to IVIG (not straight after IVIG: it removes it)", f"{A}: Table 7.2 Guillain-Barré syndrome",
         service="Plasma exchange", alternative_to="ivig.neuro"),
    Step("guillain_barre", None, "gbs.methylprednisolone", "immunosuppression", "", f"{A}: Table 7.2 Guillain-Barré syndrome (a trial is reasonable in ICI-related forms)",
         regimen="methylprednisolone.gbs"),
    Step("guillain_barre", G34, "methylprednisolone.pulse", "immunosuppression", "", f"{A}: Table 7.2 Guillain-Barré syndrome G3-G4 (pulse 1 g daily for 5 days with IVIG or plasmapheresis)",
         regimen="methylprednisolone.pulse", alternative_to="gbs.methylprednisolone"),
    Step("guillain_barre", None, "gbs.pain", "supportive", "Neuropathic pain without opioids (pregabalin, gabapentin or duloxetine); treat constipation and ileus",
         f"{A}: Table 7.2 Guillain-Barré syndrome"),
    # ================= Myasthenia gravis: ASCO 2021 Table 7.1 ====================================
    Step("myasthenia_gravis", None, "consult.neurology", "consult", "Urgent neurology consult; anti-AChR and anti-striational antibodies, pulmonary function; look for myositis and myocarditis (CK, troponin, ECG)",
         f"{A}: Table 7.1 myasthenia gravis", urgency="urgent", service="Neurology consult"),
    Step("myasthenia_gravis", None, "pyridostigmine", "immunosuppression", "", f"{A}: Table 7.1 myasthenia gravis G2", regimen="pyridostigmine"),
    Step("myasthenia_gravis", None, "mg.prednisone", "immunosuppression", "", f"{A}: Table 7.1 myasthenia gravis G2 (0.5 mg/kg: higher doses can worsen MG at first)",
         regimen="prednisone.mg"),
    Step("myasthenia_gravis", G34, "ivig.neuro", "immunosuppression", "", f"{A}: Table 7.1 myasthenia gravis G3-G4 (IVIG 2 g/kg over 5 days, 0.4 g/kg/day, or plasmapheresis × 5 days)",
         regimen="ivig.neuro", urgency="urgent"),
    Step("myasthenia_gravis", G34, "plasma_exchange", "procedure", "Plasma exchange × 5 days, as an alternative to IVIG", f"{A}: Table 7.1 myasthenia gravis G3-G4",
         service="Plasma exchange", alternative_to="ivig.neuro"),
    Step("myasthenia_gravis", G34, "admission.neuro", "admission", "Admit (ICU-level monitoring may be needed); daily neurology review and frequent pulmonary function tests",
         f"{A}: Table 7.1 myasthenia gravis G3-G4", urgency="urgent", service="Hospital admission"),
    Step("myasthenia_gravis", None, "overlap.triple_m", "caution", "Myasthenia with myositis or myocarditis ('triple M'): admit; manage each section; permanently discontinue",
         f"{A}: Table 9.1 myocarditis (triple M), Table 5.2 myositis footnote", urgency="urgent", when="overlap"),
    Step("myasthenia_gravis", None, "mg.avoid_drugs", "caution", "Avoid drugs that can worsen myasthenia: fluoroquinolones, aminoglycosides, macrolides, IV magnesium, beta-blockers, neuromuscular blockers",
         f"{A}: Table 7.1 myasthenia gravis (as in the 2018 table, not verified in the 2021 text read)", urgency="urgent"),
    Step("myasthenia_gravis", G2, "mg.inpatient", "admission", "Strongly consider inpatient care: patients can deteriorate quickly", f"{A}: Table 7.1 myasthenia gravis G2"),
    # ================= Transverse myelitis: ASCO 2021 Table 7.7 (seed case) ======================
    Step("transverse_myelitis", None, "consult.neurology", "consult", "Urgent neurology consult; MRI of the spine and lumbar puncture are the usual work-up",
         f"pembro_crs_qa; {A}: Table 7.7 demyelinating diseases (table text not read in this release)", urgency="urgent", service="Neurology consult"),
    Step("transverse_myelitis", None, "methylprednisolone.high", "immunosuppression", "", "pembro_crs_qa", regimen="methylprednisolone.high", urgency="urgent"),
    Step("transverse_myelitis", None, "methylprednisolone.pulse", "immunosuppression", "", f"{A}: Table 7.7 demyelinating diseases (pulse 1 g/day: the brief's reading, table text not read in this release)",
         regimen="methylprednisolone.pulse", alternative_to="methylprednisolone.high"),
    Step("transverse_myelitis", None, "prednisone.taper", "immunosuppression", "", "pembro_crs_qa", regimen="prednisone.taper"),
    Step("transverse_myelitis", None, "ivig.neuro", "immunosuppression", "", "pembro_crs_qa", regimen="ivig.neuro", urgency="urgent"),
    Step("transverse_myelitis", None, "plasma_exchange", "procedure", "Plasma exchange, as an alternative to IVIG", f"pembro_crs_qa; {A}: neurologic toxicities",
         service="Plasma exchange", alternative_to="ivig.neuro"),
    # ================= Encephalitis: ASCO 2021 Table 7.6 =========================================
    Step("encephalitis", None, "consult.neurology", "consult", "Urgent neurology consult; MRI brain, lumbar puncture (HSV PCR, cultures, autoimmune and paraneoplastic panels), EEG",
         f"{A}: Table 7.6 encephalitis", urgency="urgent", service="Neurology consult"),
    Step("encephalitis", None, "aciclovir.empiric", "supportive", "IV acyclovir until the HSV PCR is back negative", f"{A}: Table 7.6 encephalitis", urgency="urgent",
         drug="acyclovir", dose_note="Dose per local protocol and renal function"),
    Step("encephalitis", None, "methylprednisolone.high", "immunosuppression", "", f"{A}: Table 7.6 encephalitis (trial of methylprednisolone 1-2 mg/kg/day)",
         regimen="methylprednisolone.high", urgency="urgent"),
    Step("encephalitis", None, "methylprednisolone.pulse", "immunosuppression", "Severe or progressing, or oligoclonal bands: pulse methylprednisolone 1 g/day IV for 3-5 days plus IVIG 2 g/kg over 5 days or plasmapheresis",
         f"{A}: Table 7.6 encephalitis", regimen="methylprednisolone.pulse", alternative_to="methylprednisolone.high", only_if="if severe or progressing, or with oligoclonal bands"),
    Step("encephalitis", G34, "ivig.neuro", "immunosuppression", "", f"{A}: Table 7.6 encephalitis (severe: IVIG 2 g/kg over 5 days)", regimen="ivig.neuro", urgency="urgent"),
    Step("encephalitis", None, "encephalitis.rituximab", "immunosuppression", "Antibody-positive (autoimmune or paraneoplastic) or no improvement: consider rituximab with neurology",
         f"{A}: Table 7.6 encephalitis"),
    # ================= Aseptic meningitis: ASCO 2021 Table 7.5 ===================================
    Step("aseptic_meningitis", None, "meningitis.workup", "workup", "MRI brain, morning cortisol and ACTH, lumbar puncture (cell count, glucose, Gram stain, cultures, HSV PCR, cytology)",
         f"{A}: Table 7.5 aseptic meningitis (work-up)", urgency="urgent"),
    Step("aseptic_meningitis", None, "meningitis.empiric", "supportive", "Empiric IV acyclovir and antibacterial treatment until the CSF results are back", f"{A}: Table 7.5 aseptic meningitis",
         urgency="urgent", drug="acyclovir", dose_note="Dose per local protocol and renal function"),
    Step("aseptic_meningitis", None, "consult.neurology", "consult", "Neurology consult", f"{A}: Table 7.5 aseptic meningitis", service="Neurology consult"),
    Step("aseptic_meningitis", G23, "meningitis.prednisone", "immunosuppression", "Once bacterial and viral infection are ruled out: observe, or prednisone 0.5-1 mg/kg/day; taper after 2-4 weeks",
         f"{A}: Table 7.5 aseptic meningitis", regimen="prednisone.moderate"),
    Step("aseptic_meningitis", G34, "meningitis.methylprednisolone", "immunosuppression", "Once infection is ruled out, moderate or severe symptoms: methylprednisolone 1 mg/kg/day IV",
         f"{A}: Table 7.5 aseptic meningitis", regimen="methylprednisolone.1"),
    Step("aseptic_meningitis", G34, "admission.neuro", "admission", "Consider admission", f"{A}: Table 7.5 aseptic meningitis G3-G4", service="Hospital admission"),
    # ================= Inflammatory arthritis: ASCO 2021 Table 5.1 ===============================
    Step("inflammatory_arthritis", None, "arthritis.nsaid", "supportive", "NSAIDs first; DMARDs if arthritis persists after steroids", f"{A}: Table 5.1 inflammatory arthritis; pembro_crs_qa"),
    Step("inflammatory_arthritis", (2, 3, 4), "consult.rheumatology", "consult", "Rheumatology consult", f"{A}: Table 5.1 inflammatory arthritis", service="Rheumatology consult"),
    Step("inflammatory_arthritis", None, "consult.rheumatology", "consult", "Rheumatology consult", f"{A}: Table 5.1 inflammatory arthritis", service="Rheumatology consult", when="ungraded"),
    Step("inflammatory_arthritis", G2, "prednisone.arthritis_g2", "immunosuppression", "", f"{A}: Table 5.1 inflammatory arthritis G2", regimen="prednisone.arthritis_g2"),
    Step("inflammatory_arthritis", G34, "prednisone.arthritis_g3", "immunosuppression", "", f"{A}: Table 5.1 inflammatory arthritis G3-G4", regimen="prednisone.arthritis_g3"),
    Step("inflammatory_arthritis", G34, "arthritis.avoid_il6", "caution", "Avoid IL-6 blockade for arthritis while immune colitis is present", f"{A}: Table 5.1 inflammatory arthritis",
         when="with_colitis"),
    # ================= Uveitis: ASCO 2021 Table 10.1 =============================================
    Step("uveitis", G1, "consult.ophthalmology", "consult", "Ophthalmology within 1 week; artificial tears", f"{A}: Table 10.1 uveitis G1", service="Ophthalmology consult"),
    Step("uveitis", G23, "consult.ophthalmology", "consult", "Urgent ophthalmology; topical corticosteroid (e.g. 1% prednisolone acetate), cycloplegic, systemic corticosteroid per ophthalmology",
         f"{A}: Table 10.1 uveitis G2-G3", urgency="urgent", service="Ophthalmology consult"),
    Step("uveitis", G4, "consult.ophthalmology", "consult", "Emergency ophthalmology; intravitreal, periocular or topical corticosteroid per ophthalmology",
         f"{A}: Table 10.1 uveitis G4", urgency="urgent", service="Ophthalmology consult"),
    Step("uveitis", G4, "uveitis.prednisone", "immunosuppression", "", f"{A}: Table 10.1 uveitis G4 (prednisone 1-2 mg/kg/day)", regimen="prednisone.1to2", urgency="urgent"),
    Step("uveitis", G4, "uveitis.methylprednisolone", "immunosuppression", "", f"{A}: Table 10.1 uveitis G4 (or methylprednisolone 0.8-1.6 mg/kg/day)",
         regimen="methylprednisolone.uveitis", alternative_to="uveitis.prednisone"),
    Step("uveitis", G34, "uveitis.refractory", "immunosuppression", "Refractory: infliximab or another TNF blocker, or IVIG; methotrexate for poor response", f"{A}: Table 10.1 uveitis"),
    # ================= Pancreatitis: NCCN (not in the ASCO 2021 tables) ==========================
    Step("pancreatitis", None, "pancreatitis.supportive", "supportive", "Assess for pancreatitis (pain, vomiting, CT or MRCP); IV fluids and pain control",
         "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text)"),
    Step("pancreatitis", G2, "pancreatitis.g2.no_treatment", "supportive", "Enzymes or imaging only: no immunosuppression", "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text)"),
    Step("pancreatitis", G34, "pancreatitis.steroid", "immunosuppression", "Prednisone or methylprednisolone (higher doses for grade 4)",
         "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text, which states no dose)",
         drug="methylprednisolone", dose_note="Dose with gastroenterology"),
    Step("pancreatitis", G34, "consult.gastroenterology", "consult", "Gastroenterology consult; admit for fluids and pain control",
         "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text)", service="Gastroenterology consult"),
    # ================= Haematologic: ASCO 2021 Table 8 ============================================
    Step("autoimmune_haemolytic_anaemia", None, "consult.haematology", "consult", "Haematology consult; blood film, reticulocytes, LDH, haptoglobin, bilirubin, direct antiglobulin test",
         f"{A}: Table 8.1 hemolytic anemia", service="Haematology consult"),
    Step("autoimmune_haemolytic_anaemia", G2, "aiha.g2.prednisone", "immunosuppression", "Prednisone 0.5-1 mg/kg/day",
         f"{A}: Table 8.1 hemolytic anemia G2 (the G2 text was not read: dose as the general grade 2 rule, not verified)", regimen="prednisone.moderate"),
    Step("autoimmune_haemolytic_anaemia", G34, "aiha.prednisone", "immunosuppression", "", f"{A}: Table 8.1 hemolytic anemia G3-G4 (prednisone 1-2 mg/kg/day, IV for grade 4)",
         regimen="prednisone.1to2", urgency="urgent"),
    Step("autoimmune_haemolytic_anaemia", G34, "aiha.folic_acid", "supportive", "Folic acid 1 mg daily; transfuse the fewest units needed (target 7-8 g/dL)", f"{A}: Table 8.1 hemolytic anemia G3",
         drug="folic acid", dose_note="1 mg by mouth daily (fixed dose in the guideline)"),
    Step("autoimmune_haemolytic_anaemia", G4, "aiha.second_line", "immunosuppression", "No better or worse on steroids: rituximab, IVIG, cyclosporine, infliximab, mycophenolate or ATG with haematology",
         f"{A}: Table 8.1 hemolytic anemia G4"),
    Step("autoimmune_haemolytic_anaemia", G4, "admission.haematology", "admission", "Admit", f"{A}: Table 8.1 hemolytic anemia G4", urgency="urgent", service="Hospital admission"),
    Step("immune_thrombocytopenia", G234, "itp.prednisone", "immunosuppression", "", f"{A}: Table 8.6 immune thrombocytopenia G2 (prednisone 1 mg/kg/day, range 0.5-2, for 4 weeks)",
         regimen="prednisone.itp"),
    Step("immune_thrombocytopenia", G34, "itp.dexamethasone", "immunosuppression", "", f"{A}: Table 8.6 immune thrombocytopenia G3 (dexamethasone 40 mg daily for 4 days)",
         regimen="dexamethasone.itp", alternative_to="itp.prednisone"),
    Step("immune_thrombocytopenia", G34, "itp.ivig", "immunosuppression", "", f"{A}: Table 8.6 immune thrombocytopenia G3 (IVIG 1 g/kg once if a faster rise is needed)",
         regimen="ivig.itp", when="no_ivig_planned", only_if="if a faster platelet rise is needed"),
    Step("immune_thrombocytopenia", G34, "consult.haematology", "consult", "Haematology consult; rituximab or a thrombopoietin receptor agonist if steroids and IVIG fail",
         f"{A}: Table 8.6 immune thrombocytopenia G3", service="Haematology consult"),
)
# fmt: on

# Adrenal insufficiency read as a suspected adrenal crisis below grade 3: a vasopressor, or a
# systolic pressure below this, in the hours before the assessment.
ADRENAL_CRISIS_SBP = (
    90.0,
    "immunotox: hypotension (systolic <90 mmHg, or a vasopressor) with adrenal insufficiency is "
    "treated as a suspected adrenal crisis (asco2021 Table 4.2 G3-G4: medically significant or "
    "life-threatening consequences)",
)
ADRENAL_CRISIS_WINDOW_H = (24, "immunotox: the last 24 hours, as the CRS findings window")
# A stress dose of hydrocortisone (at least the stress regimen's lower dose) given within its
# longest dosing interval is the crisis treatment under way: no second "at once" bolus; the
# plan says what was given and when the next dose is due.
ADRENAL_STRESS_INTERVAL_H = (
    6,
    8,
    "asco2021: Table 4.2 primary adrenal insufficiency G3-G4 (hydrocortisone 50-100 mg q6-8h "
    "initial dosing): a dose given within the last 8 hours is the stress regimen under way",
)
ADRENAL_STRESS_GIVEN = (
    "Stress-dose hydrocortisone already given ({doses}): no further bolus now; continue "
    "{regimen}, the next dose due {next_lo} to {next_hi}"
)
ADRENAL_STRESS_OVERDUE = "the next dose overdue since {next_hi}"


def steps_for(kind: str) -> tuple[Step, ...]:
    return tuple(s for s in STEPS if s.kind == kind)
