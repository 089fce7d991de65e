"""The per-request budget of LLM calls, tokens and agent steps, enforced before spending.

One :class:`Budget` per request (or digest run), passed to every LLM call and agent step.
Limits are checked *before* a call or step runs, so a refused call never reaches the provider
and ``llm_calls`` / ``agent_steps`` never pass their limits. Tokens can pass ``max_tokens``
only when a provider reports more usage than estimated; that is recorded in ``exceeded`` too.

Calls that run concurrently under one budget (``asyncio.gather`` of several completions) are
safe: :meth:`Budget.reserve` holds the call and its worst-case tokens until the call settles,
so the checks of the others count it.
"""

from __future__ import annotations

from servicekit.llm.errors import BudgetExceeded, BudgetKind
from servicekit.llm.port import Completion


class Budget:
    """Limits and usage of one request. Not thread-safe; safe across tasks of one event loop."""

    def __init__(
        self,
        *,
        max_llm_calls: int = 3,
        max_tokens: int = 8000,
        max_agent_steps: int = 4,
        path_type: str = "fast_path",
    ) -> None:
        if min(max_llm_calls, max_tokens, max_agent_steps) < 0:
            raise ValueError("budget limits must be ≥ 0")
        self.max_llm_calls = max_llm_calls
        self.max_tokens = max_tokens
        self.max_agent_steps = max_agent_steps
        self.path_type = path_type
        self._calls = 0
        self._tokens = 0
        self._steps = 0
        self._pending_calls = 0
        self._pending_tokens = 0
        self._exceeded: set[str] = set()

    @property
    def llm_calls(self) -> int:
        """LLM calls made (succeeded or failed after being sent), not counting refused ones."""
        return self._calls

    @property
    def tokens(self) -> int:
        """Tokens used: the providers' reported usage (estimates only where none was given)."""
        return self._tokens

    @property
    def agent_steps(self) -> int:
        """Agent steps taken."""
        return self._steps

    @property
    def exceeded(self) -> set[str]:
        """The kinds of limit that were hit (a copy): ``llm_calls``, ``tokens``, ``agent_steps``."""
        return set(self._exceeded)

    @property
    def remaining_tokens(self) -> int:
        """Tokens left for new calls, after usage and the reservations of calls in flight."""
        return max(0, self.max_tokens - self._tokens - self._pending_tokens)

    def check_call(self, estimated_tokens: int = 0) -> None:
        """Raise :class:`BudgetExceeded` if one more call of ``estimated_tokens`` (prompt plus
        the most it may generate) would pass a limit; record the kind in ``exceeded``.

        Counts calls in flight by their reservations. Changes nothing when it passes.
        """
        calls = self._calls + self._pending_calls + 1
        if calls > self.max_llm_calls:
            self._refuse("llm_calls", self.max_llm_calls, calls)
        tokens = self._tokens + self._pending_tokens + max(0, estimated_tokens)
        if tokens > self.max_tokens:
            self._refuse("tokens", self.max_tokens, tokens)

    def reserve(self, estimated_tokens: int) -> Reservation:
        """:meth:`check_call`, then hold one call and ``estimated_tokens`` until the returned
        reservation is settled. Raises :class:`BudgetExceeded` like ``check_call``."""
        self.check_call(estimated_tokens)
        held = max(0, estimated_tokens)
        self._pending_calls += 1
        self._pending_tokens += held
        return Reservation(self, held)

    def charge(self, completion: Completion) -> None:
        """Count one call and its real tokens. Never raises; usage past ``max_tokens`` (the
        provider used more than estimated) is recorded in ``exceeded``."""
        self._calls += 1
        self._tokens += completion.tokens_in + completion.tokens_out
        if self._tokens > self.max_tokens:
            self._exceeded.add("tokens")

    def charge_failure(self) -> None:
        """Count one call that was sent but produced no completion (timeout, error). Its tokens
        are unknown and not counted."""
        self._calls += 1

    def step(self) -> None:
        """Count one agent step; raises :class:`BudgetExceeded` (step not counted, kind recorded
        in ``exceeded``) when it would pass ``max_agent_steps``."""
        if self._steps + 1 > self.max_agent_steps:
            self._refuse("agent_steps", self.max_agent_steps, self._steps + 1)
        self._steps += 1

    def _refuse(self, kind: BudgetKind, limit: int, requested: int) -> None:
        self._exceeded.add(kind)
        raise BudgetExceeded(kind, limit=limit, requested=requested)

    def _release(self, held_tokens: int) -> None:
        self._pending_calls -= 1
        self._pending_tokens -= held_tokens

    def __repr__(self) -> str:
        return (
            f"Budget(path_type={self.path_type!r}, llm_calls={self._calls}/{self.max_llm_calls}, "
            f"tokens={self._tokens}/{self.max_tokens}, "
            f"agent_steps={self._steps}/{self.max_agent_steps}, exceeded={sorted(self._exceeded)})"
        )


class Reservation:
    """One call held against a budget; settle it exactly once (later settles do nothing)."""

    def __init__(self, budget: Budget, held_tokens: int) -> None:
        self._budget = budget
        self._held = held_tokens
        self._open = True

    def charge(self, completion: Completion) -> None:
        """The call succeeded: release the hold and charge the real usage."""
        if self._settle():
            self._budget.charge(completion)

    def charge_failure(self) -> None:
        """The call was sent and failed: release the hold and count the call."""
        if self._settle():
            self._budget.charge_failure()

    def release(self) -> None:
        """The call was never sent: release the hold, count nothing."""
        self._settle()

    def _settle(self) -> bool:
        if not self._open:
            return False
        self._open = False
        self._budget._release(self._held)
        return True
