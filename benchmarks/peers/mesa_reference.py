"""Reference social-credit model written the way a Mesa 3 user would write it.

* ``Person`` agents (``mesa.Agent``) hold their own state (score,
  last_record_day, listed, compliance) and a list of references to their 8
  community ties; ``Household`` agents hold references to their members.
* ``SocialCreditModel.step`` activates every person through the
  ``AgentSet`` (``agents_by_type[Person].do("step")``); each person runs the
  four daily phases (recovery, offence, blacklist, purchase) in order.
  Activation order does not matter: within a day no person's phases read
  another person's state (a tie's report depends only on chance), so running
  the phases per agent is equivalent to running each phase over everyone.
* Daily outputs are gathered with ``mesa.DataCollector`` model reporters.
* Randomness comes from the model's seeded stdlib RNG (``self.random``).

Usage (from the repository root)::

    python -m benchmarks.peers.mesa_reference --people 3000 --days 365 --seed 1
"""

from __future__ import annotations

import statistics

import mesa
import pandas as pd

from benchmarks.peers._cli import as_frame, main

# Model parameters (the shared reference model).
HOUSEHOLD_SIZE = 3
N_TIES = 8
BASE_SCORE = 1000
RECOVERY_INTERVAL = 10
OFFENCE_BASE = 0.003
P_CAMERA = 0.5
P_REPORT = 0.01
PENALTY = 50
LIST_BELOW = 900
DELIST_AT = 950
P_PURCHASE = 0.01


class Household(mesa.Agent):
    """A household: a passive agent that knows its members."""

    def __init__(self, model: SocialCreditModel) -> None:
        super().__init__(model)
        self.members: list[Person] = []

    def unlisted_members_exposed(self) -> int:
        """Members who are not listed but share the household with a listed person."""
        if any(member.listed for member in self.members):
            return sum(1 for member in self.members if not member.listed)
        return 0


class Person(mesa.Agent):
    """A citizen with a social-credit score."""

    def __init__(self, model: SocialCreditModel, household: Household, compliance: float) -> None:
        super().__init__(model)
        self.household = household
        self.compliance = compliance
        self.score = BASE_SCORE
        self.last_record_day = 0
        self.listed = False
        self.ties: list[Person] = []
        household.members.append(self)

    # -- daily phases -----------------------------------------------------
    def recover(self) -> None:
        days_clean = self.model.day - self.last_record_day
        if self.score < BASE_SCORE and days_clean > 0 and days_clean % RECOVERY_INTERVAL == 0:
            self.score += 1

    def maybe_offend(self) -> None:
        if self.random.random() >= OFFENCE_BASE * (2 - self.compliance):
            return
        self.model.offences += 1
        if self.random.random() < P_CAMERA or any(tie.reports_offence(self) for tie in self.ties):
            self.score -= PENALTY
            self.last_record_day = self.model.day
            self.model.records += 1

    def reports_offence(self, offender: Person) -> bool:
        """Called on a tie of an offender whose offence the camera missed."""
        return self.random.random() < P_REPORT

    def update_listing(self) -> None:
        if not self.listed and self.score < LIST_BELOW:
            self.listed = True
        elif self.listed and self.score >= DELIST_AT:
            self.listed = False

    def try_purchase(self) -> None:
        if self.listed and self.random.random() < P_PURCHASE:
            self.model.blocked_purchases += 1  # every listed attempt is blocked

    def step(self) -> None:
        self.recover()
        self.maybe_offend()
        self.update_listing()
        self.try_purchase()


class SocialCreditModel(mesa.Model):
    """N people in households of three with 8 random directed community ties each."""

    def __init__(self, people: int = 1000, days: int = 365, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if people < N_TIES + 1:
            raise ValueError(f"need at least {N_TIES + 1} people")
        self.days = days
        self.day = 0
        self.blocked_purchases = 0
        self.offences = 0  # cumulative, for sanity checks only
        self.records = 0

        n_households = -(-people // HOUSEHOLD_SIZE)
        households = [Household(self) for _ in range(n_households)]
        # Person i lives in household i // 3.
        self.people = [
            Person(self, households[i // HOUSEHOLD_SIZE], self.random.random())
            for i in range(people)
        ]
        # Each person's 8 distinct ties, uniformly among the other people.
        for i, person in enumerate(self.people):
            picks = self.random.sample(range(people - 1), N_TIES)
            person.ties = [self.people[j + 1 if j >= i else j] for j in picks]

        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": "day",
                "mean_score": self.mean_score,
                "list_size": self.list_size,
                "blocked_purchases": "blocked_purchases",
                "household_members_of_listed": self.household_members_of_listed,
            }
        )

    # -- reporters --------------------------------------------------------
    def mean_score(self) -> float:
        return self.agents_by_type[Person].agg("score", statistics.fmean)

    def list_size(self) -> int:
        return len(self.agents_by_type[Person].select(lambda p: p.listed))

    def household_members_of_listed(self) -> int:
        return sum(self.agents_by_type[Household].map("unlisted_members_exposed"))

    # -- dynamics ---------------------------------------------------------
    def step(self) -> None:
        self.agents_by_type[Person].do("step")
        self.datacollector.collect(self)
        self.day += 1
        if self.day >= self.days:
            self.running = False

    def simulate(self) -> None:
        for _ in range(self.days):
            self.step()

    def outputs(self) -> pd.DataFrame:
        return as_frame(self.datacollector.get_model_vars_dataframe())

    def run(self) -> pd.DataFrame:
        self.simulate()
        return self.outputs()


def build(people: int, days: int, seed: int) -> SocialCreditModel:
    return SocialCreditModel(people=people, days=days, seed=seed)


def run(people: int, days: int, seed: int) -> pd.DataFrame:
    """Run the model and return one row of outputs per day."""
    return build(people, days, seed).run()


if __name__ == "__main__":
    main("mesa", build)
