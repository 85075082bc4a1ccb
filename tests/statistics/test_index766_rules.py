"""The Decision 766 index as the national portal scores it (DESIGN.md, "The law since 2025",
checked on the portal's data, Oct 2026): each indicator's points, its cap and the rule that
nothing to count scores full — a scene of known counts gives the exact points. The counts come
from the facts in tests/statistics/test_statistics.py (the same formulas, over real dossiers)."""

from __future__ import annotations

from core.settings import Settings
from services.statistics.index766 import BY_CODE, GROUPS, INDICATORS, Counting, Status, indicator

SOURCE = 'DESIGN.md "The law since 2025": the Decision 766 index as the national portal scores it'


def points(code: str, *counts: int) -> float | None:
    return indicator(BY_CODE[code], counts).score


def test_decision_766_five_groups_of_100_points_as_the_portal_scores_them() -> None:
    """DESIGN.md "The law since 2025": transparency 18 (6 + 4 + 2 + 6), progress 20, digitisation
    22 (6 + 4 + 2 + 4 + 2 + 2 + 2), online services 22 (12 + 10), satisfaction 18 (6 + 6 + 6)."""
    table = {d.code: d.points for d in INDICATORS}
    assert table == {
        "1.1": 6,
        "1.2": 4,
        "1.3": 2,
        "1.4": 6,
        "2.1": 20,
        "3.1": 6,
        "3.2": 4,
        "3.3": 2,
        "3.4": 4,
        "3.5": 2,
        "3.6": 2,
        "3.7": 2,
        "4.1": 6,  # online service 12, halved between procedures and dossiers
        "4.2": 6,
        "4.3": 10,
        "5.1": 6,
        "5.2": 6,
        "5.3": 6,
    }
    by_group = {g.code: sum(d.points for d in INDICATORS if d.group == g.code) for g in GROUPS}
    assert by_group == {
        "TRANSPARENCY": 18,
        "PROGRESS": 20,
        "DIGITISATION": 22,
        "ONLINE_SERVICE": 22,
        "SATISFACTION": 18,
    }
    assert {g.code: g.points for g in GROUPS} == by_group
    assert sum(by_group.values()) == 100


def test_decision_766_an_indicator_with_nothing_to_count_scores_full_points() -> None:
    """DESIGN.md "The law since 2025": "An indicator with nothing to count scores full points."."""
    for d in INDICATORS:
        if not d.measurable:
            continue
        counts = (0,) * (1 + max(1, len(d.minus)))
        found = indicator(d, counts)
        assert (found.status, found.score) == (Status.NO_DATA, d.points), d.code


def test_decision_766_an_indicator_our_data_cannot_measure_says_why_and_scores_nothing() -> None:
    """DESIGN.md "The law since 2025" (the index's indicators); the brief: where an indicator needs
    data we do not have, say so. Publication on the national procedure database (1.1–1.3), the
    national data vault (3.4), population data (3.5, 3.6), electronic certified copies (3.7) and
    the rating of feedback answers (5.2)."""
    unmeasured = {d.code for d in INDICATORS if not d.measurable}
    assert unmeasured == {"1.1", "1.2", "1.3", "3.4", "3.5", "3.6", "3.7", "5.2"}
    for code in unmeasured:
        found = indicator(BY_CODE[code], None)
        assert (found.status, found.score) == (Status.NOT_MEASURED, None)
        assert BY_CODE[code].not_measured


def test_decision_766_synchronised_to_the_national_portal_is_6_points_not_14() -> None:
    """DESIGN.md "The law since 2025": "dossiers synchronised to the national portal 6"."""
    assert points("1.4", 8, 6) == 4.5  # 75 % of 6
    assert points("1.4", 8, 8) == 6.0
    assert points("1.4", 8, 0) == 0.0


def test_decision_766_progress_is_linear_in_dossiers_handled_early_or_on_time() -> None:
    """DESIGN.md "The law since 2025": "progress 20 (dossiers handled early or on time, linear)"."""
    assert points("2.1", 5, 4) == 16.0
    assert points("2.1", 3, 1) == 6.67
    assert points("2.1", 7, 7) == 20.0


def test_decision_766_digitisation_indicators_and_the_80_percent_cap_on_reuse() -> None:
    """DESIGN.md "The law since 2025": "electronic result 6, digitised dossier 4, reuse of
    digitised data 2 (full at ≥ 80 %)"."""
    assert points("3.1", 4, 3) == 4.5
    assert points("3.2", 3, 1) == 1.33
    assert points("3.3", 8, 1) == 0.31  # 12.5 % of 80 %: 2 × 12.5 / 80 = 0.3125
    assert points("3.3", 10, 4) == 1.0  # 40 % is half of 80 %
    assert points("3.3", 10, 8) == 2.0  # 80 %: full
    assert points("3.3", 10, 9) == 2.0  # more is not more than full


def test_decision_766_online_service_full_at_80_percent_of_procedures_and_50_percent_of_dossiers() -> None:
    """DESIGN.md "The law since 2025": "online service 12 — full at ≥ 80 % of procedures online,
    ≥ 50 % of dossiers online — and online payment 10". The 12 points are halved between the two
    conditions (our reading, docs/domain.md)."""
    assert BY_CODE["4.1"].counting is Counting.PROCEDURES
    assert points("4.1", 5, 4) == 6.0  # 80 %
    assert points("4.1", 5, 2) == 3.0  # 40 % of 80 %
    assert points("4.2", 8, 4) == 6.0  # 50 %
    assert points("4.2", 10, 2) == 2.4  # 20 % of 50 %
    assert points("4.3", 8, 2) == 2.5  # online payment: linear
    assert points("4.3", 4, 4) == 10.0


def test_decision_766_satisfaction_with_procedures_is_100_less_late_less_complained_full_at_90() -> None:
    """DESIGN.md "The law since 2025": "satisfaction with procedures 6 = 100 % − late share −
    complained share, full at ≥ 90 %". Counts: (finished, late, complained)."""
    assert points("5.3", 10, 1, 0) == 6.0  # 90 %
    assert points("5.3", 5, 1, 0) == 5.33  # 80 % of 90 %
    assert points("5.3", 5, 1, 1) == 4.0  # 60 % of 90 %
    assert points("5.3", 10, 2, 1) == 4.67  # 70 %
    found = indicator(BY_CODE["5.3"], (4, 3, 3))  # a dossier late and complained counts twice
    assert (found.numerator, found.score) == (0, 0.0)  # never below nothing


def test_decision_766_feedback_handled_within_15_working_days() -> None:
    """DESIGN.md "The law since 2025": "feedback handled on time 6 — 15 working days to handle";
    the answer's default deadline is the index's (FEEDBACK_ANSWER_DAYS, docs/configuration.md)."""
    assert Settings.model_fields["feedback_answer_days"].default == 15
    assert points("5.1", 3, 1) == 2.0
    assert points("5.1", 4, 4) == 6.0
