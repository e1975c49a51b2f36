"""Who may review traces: the data-protection officer (DPO / DIM physician)."""

REVIEWER_ROLES = frozenset({"dpo"})


def may_review(user) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "role", None) in REVIEWER_ROLES)
