"""Base class of every payload model and of the objects nested in payloads."""

from pydantic import BaseModel, ConfigDict


class ContractModel(BaseModel):
    """Frozen; unknown fields are ignored.

    Why ``extra="ignore"`` and not ``"forbid"``: a released version may only gain *optional*
    fields (DESIGN §3). That rule is only safe if a consumer still pinned to the older model
    accepts a message from a newer producer, so unknown fields must be dropped, not rejected.
    The exported schemas agree: payload objects carry no ``additionalProperties: false``, and
    the compatibility checker treats them as open, which is what makes an additive optional
    field FULL-compatible. The envelope itself is closed (see ``contracts.envelope``).

    Field docstrings become ``description`` in the JSON Schema.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)
