"""How candidates are ranked. Hard filters decide who may be offered at all; the soft score
orders the rest. Weights come from settings (`TUTORING_MATCH_W_*`), documented in the README.

score = w_expertise * overlap            share of the request's knowledge points the tutor knows
      + w_rating    * smoothed rating    Bayesian mean (prior `rating_prior` over `rating_weight`
                                          pseudo-ratings), scaled to 0..1
      + w_favourite * own rating         this student's own mean rating of the tutor, 0..1
                                          (0 when they never met): favourites come first
      + w_fairness  * fairness           longest-waiting tutors forward (wait / horizon, capped
                                          at 1), minus `served_penalty` per session tonight
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import RequestSpec, TutorCard


@dataclass(frozen=True)
class Weights:
    expertise: float = 1.0
    rating: float = 0.6
    favourite: float = 2.0
    fairness: float = 0.8
    rating_prior: float = 4.0
    rating_weight: float = 5.0
    fairness_horizon_s: float = 900.0
    served_penalty: float = 0.15


def smoothed_rating(card: TutorCard, w: Weights) -> float:
    return (w.rating_prior * w.rating_weight + card.rating_sum) / (w.rating_weight + card.rating_count)


def score(spec: RequestSpec, card: TutorCard, available_since: float, served: int, now: float, w: Weights) -> float:
    if spec.knowledge_points:
        known = card.expertise_set
        overlap = sum(1 for k in spec.knowledge_points if k in known) / len(spec.knowledge_points)
    else:
        overlap = 0.0
    rating = (smoothed_rating(card, w) - 1) / 4
    own = spec.preferences.get(card.id)
    favourite = (own - 1) / 4 if own is not None else 0.0
    fairness = min(max(now - available_since, 0.0) / w.fairness_horizon_s, 1.0) - w.served_penalty * served
    return w.expertise * overlap + w.rating * rating + w.favourite * favourite + w.fairness * fairness


def eligible(spec: RequestSpec, card: TutorCard, tried: set[int]) -> bool:
    """Hard filters that the pool's index does not already guarantee."""
    return card.id not in tried and card.id not in spec.excluded and spec.subject in card.subjects and spec.band in card.bands
