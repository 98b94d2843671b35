"""Reference lists the catalog's NIST references are checked against, with their sources.

Kept apart from the application on purpose: the catalog (seed/catalog.yaml) cites these, and
the tests hold it to the published documents rather than to a list it could edit itself.
"""

from __future__ import annotations

# NIST AI 100-1, "Artificial Intelligence Risk Management Framework (AI RMF 1.0)", January 2023,
# section 5 and tables 1-4 (the AI RMF Core): 19 categories, 72 subcategories.
# https://doi.org/10.6028/NIST.AI.100-1 (also airc.nist.gov, "AI RMF Core").
_CORE_CATEGORIES: dict[str, tuple[int, ...]] = {
    # function: number of subcategories of category 1, 2, ...
    "GOVERN": (7, 3, 2, 3, 2, 2),  # GOVERN 1.1-1.7, 2.1-2.3, 3.1-3.2, 4.1-4.3, 5.1-5.2, 6.1-6.2
    "MAP": (6, 3, 5, 2, 2),  # MAP 1.1-1.6, 2.1-2.3, 3.1-3.5, 4.1-4.2, 5.1-5.2
    "MEASURE": (3, 13, 3, 3),  # MEASURE 1.1-1.3, 2.1-2.13, 3.1-3.3, 4.1-4.3
    "MANAGE": (4, 4, 2, 3),  # MANAGE 1.1-1.4, 2.1-2.4, 3.1-3.2, 4.1-4.3
}

AI_RMF_CORE_SUBCATEGORIES: frozenset[str] = frozenset(
    f"{function} {category}.{sub}"
    for function, sizes in _CORE_CATEGORIES.items()
    for category, size in enumerate(sizes, start=1)
    for sub in range(1, size + 1)
)

# NIST AI 600-1, "Artificial Intelligence Risk Management Framework: Generative Artificial
# Intelligence Profile", July 2024, section 2 ("Overview of Risks Unique to or Exacerbated by
# GAI"), subsections 2.1-2.12, named as the profile names them.
# https://doi.org/10.6028/NIST.AI.600-1
GENAI_PROFILE_RISKS: tuple[str, ...] = (
    "CBRN Information or Capabilities",  # 2.1
    "Confabulation",  # 2.2
    "Dangerous, Violent, or Hateful Content",  # 2.3
    "Data Privacy",  # 2.4
    "Environmental Impacts",  # 2.5
    "Harmful Bias and Homogenization",  # 2.6
    "Human-AI Configuration",  # 2.7
    "Information Integrity",  # 2.8
    "Information Security",  # 2.9
    "Intellectual Property",  # 2.10
    "Obscene, Degrading, and/or Abusive Content",  # 2.11
    "Value Chain and Component Integration",  # 2.12
)
