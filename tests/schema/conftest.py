"""Schema fixtures: the DMP cast (Camille's DMP, her fed letter, outsiders) for the stateful scenarios."""

from tests.dmp.conftest import (  # noqa: F401
    _media,
    camille_dmp,
    dr_garnier,
    fed_letter,
    ph_fournier,
)
