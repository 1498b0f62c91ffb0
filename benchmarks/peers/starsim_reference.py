"""Reference social-credit model written the way a Starsim 3 user would write it.

* ``CommunityTies`` (an ``ss.Network``): fixed directed edges p1 -> p2, where
  p2 is one of p1's 8 ties (drawn once at initialisation, like
  ``ss.RandomNet`` with ``dynamic=False``).
* ``SocialCredit`` (a custom ``ss.Module``, run in the ``custom`` slot so it
  steps before interventions): per-agent states ``compliance``
  (``ss.FloatArr`` with an ``ss.uniform`` default), ``score`` and
  ``last_record_day`` (``ss.IntArr``), ``household`` (``ss.IntArr``).
  Each day it applies recovery and then offences: ``ss.bernoulli`` with a
  callable per-agent probability for offending, ``ss.bernoulli`` for the
  camera, and per-edge draws (``ss.multi_random``, as ``ss.Infection`` does
  for transmission) along the tie network for reports.
* ``Blacklist`` (an ``ss.Intervention``): ``listed`` (``ss.BoolState``),
  listing/delisting thresholds, and blocked flight purchases
  (``ss.bernoulli``).
* Results are ``ss.Result`` arrays filled in ``update_results``; the sim has
  one step per day (``dt=ss.days(1)``), so step index ``ti`` is the day.

Usage (from the repository root)::

    python -m benchmarks.peers.starsim_reference --people 3000 --days 365 --seed 1
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("STARSIM_INSTALL_FONTS", "0")

import numpy as np
import pandas as pd
import starsim as ss

from benchmarks.peers._cli import as_frame, main

_ = None  # Starsim convention for "default defined in define_pars()"


def offence_prob(self, uids):
    """Daily offence probability, 0.003 * (2 - compliance); a callable bernoulli parameter."""
    return self.pars.offence_base * (2 - self.compliance[uids])


class CommunityTies(ss.Network):
    """Fixed, directed community ties: edge p1 -> p2 means p2 may report p1."""

    def __init__(self, pars=None, n_ties=_, **kwargs):
        super().__init__()
        self.define_pars(n_ties=8, beta=1.0)
        self.update_pars(pars, **kwargs)
        self.dist = ss.Dist(distname="CommunityTies")  # RNG for drawing the ties
        return

    def add_pairs(self):
        """Give every person n_ties distinct ties, uniformly among the other people."""
        uids = self.sim.people.auids
        n = len(uids)
        k = self.pars.n_ties
        rng = self.dist.rng
        own = np.arange(n)[:, None]
        ties = rng.integers(0, n - 1, size=(n, k))
        ties += ties >= own  # skip oneself
        while True:  # redraw the (rare) rows that picked someone twice
            srt = np.sort(ties, axis=1)
            dup = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
            if not len(dup):
                break
            redraw = rng.integers(0, n - 1, size=(len(dup), k))
            ties[dup] = redraw + (redraw >= own[dup])
        self.dist.jump()
        p1 = np.repeat(uids, k)
        p2 = uids[ties.ravel()]
        self.append(p1=p1, p2=p2, beta=np.full(len(p1), self.pars.beta, dtype=ss.dtypes.float))
        return

    def step(self):
        pass  # static network


class SocialCredit(ss.Module):
    """Scores, recovery, offences and reporting."""

    def __init__(self, pars=None, **kwargs):
        super().__init__()
        self.define_pars(
            base_score=1000,
            recovery_interval=10,
            offence_base=0.003,
            p_offend=ss.bernoulli(p=offence_prob),
            p_camera=ss.bernoulli(p=0.5),
            p_report=0.01,  # per tie, via self.report_rng along the network
            penalty=50,
            household_size=3,
        )
        self.update_pars(pars, **kwargs)
        self.define_states(
            ss.FloatArr("compliance", default=ss.uniform(0, 1)),
            ss.IntArr("score", default=self.pars.base_score),
            ss.IntArr("last_record_day", default=0),
            ss.IntArr("household", default=0),
        )
        self.report_rng = ss.multi_random("offender", "tie")
        return

    def init_post(self):
        super().init_post()
        uids = self.sim.people.auids
        self.household[uids] = uids // self.pars.household_size
        return

    def init_results(self):
        super().init_results()
        self.define_results(
            ss.Result("mean_score", dtype=float, scale=False, label="Mean score"),
            ss.Result("new_offences", dtype=int, scale=False, label="Offences"),
            ss.Result("new_records", dtype=int, scale=False, label="Recorded offences"),
        )
        return

    def step(self):
        ti = self.ti  # one step per day, so ti is the day index
        p = self.pars

        # 1. Recovery: +1 for every full recovery_interval days without a record.
        clean = ti - self.last_record_day
        recovering = (
            (self.score < p.base_score) & (clean > 0) & (clean % p.recovery_interval == 0)
        ).uids
        self.score[recovering] = self.score[recovering] + 1

        # 2. Offences, recorded by camera or reported by at least one tie.
        offenders = p.p_offend.filter()
        caught, missed = p.p_camera.filter(offenders, both=True)
        reported = self.reported_by_ties(missed)
        recorded = caught.concat(reported)
        self.score[recorded] = self.score[recorded] - p.penalty
        self.last_record_day[recorded] = ti

        self.results.new_offences[ti] = len(offenders)
        self.results.new_records[ti] = len(recorded)
        return

    def reported_by_ties(self, uids):
        """Each tie of each offender reports independently with probability p_report."""
        net = self.sim.networks.communityties
        is_offender = np.zeros(len(self.score.raw), dtype=bool)
        is_offender[uids] = True
        edges = np.flatnonzero(is_offender[net.p1])
        src = net.p1[edges]
        trg = net.p2[edges]
        rvs = self.report_rng.rvs(src, trg)  # one draw per (offender, tie) edge
        return ss.uids(np.unique(src[rvs < self.pars.p_report]))

    def update_results(self):
        super().update_results()
        self.results.mean_score[self.ti] = self.score.mean()
        return


class Blacklist(ss.Intervention):
    """Listing and delisting on score thresholds; listed people's flight purchases are blocked."""

    def __init__(self, pars=None, list_below=_, delist_at=_, p_purchase=_, **kwargs):
        super().__init__()
        self.define_pars(
            list_below=900,
            delist_at=950,
            p_purchase=ss.bernoulli(p=0.01),
        )
        self.update_pars(pars, **kwargs)
        self.define_states(ss.BoolState("listed", label="Listed"))  # auto result n_listed
        self.blocked = 0
        return

    def init_results(self):
        super().init_results()
        self.define_results(
            ss.Result(
                "blocked_purchases", dtype=int, scale=False, label="Blocked purchases (cumulative)"
            ),
            ss.Result(
                "household_members_of_listed",
                dtype=int,
                scale=False,
                label="Unlisted people living with a listed person",
            ),
        )
        return

    def step(self):
        sc = self.sim.custom.socialcredit
        p = self.pars
        # 3. Blacklist membership.
        joining = ((~self.listed) & (sc.score < p.list_below)).uids
        leaving = (self.listed & (sc.score >= p.delist_at)).uids
        self.listed[joining] = True
        self.listed[leaving] = False
        # 4. Purchases by listed people: every attempt is blocked.
        attempts = p.p_purchase.filter(self.listed.uids)
        self.blocked += len(attempts)
        return

    def update_results(self):
        super().update_results()
        ti = self.ti
        household = self.sim.custom.socialcredit.household.values
        listed = self.listed.values
        has_listed = np.bincount(household[listed], minlength=household.max() + 1) > 0
        self.results.blocked_purchases[ti] = self.blocked
        self.results.household_members_of_listed[ti] = np.count_nonzero(
            ~listed & has_listed[household]
        )
        return


class ReferenceRun:
    """A configured (and initialised) sim: ``simulate()``, then ``outputs()`` (or ``run()``)."""

    def __init__(self, people: int, days: int, seed: int) -> None:
        self.days = days
        with warnings.catch_warnings():
            # days == 1 gives a zero-length time span; Starsim warns but still runs the one step.
            warnings.filterwarnings("ignore", message=r"(?s).*no timesteps will be run")
            self._make_sim(people, days, seed)

    def _make_sim(self, people: int, days: int, seed: int) -> None:
        self.sim = ss.Sim(
            n_agents=people,
            start=0,
            dur=ss.days(days - 1),  # inclusive time vector: `days` steps, ti = 0 .. days-1
            dt=ss.days(1),
            rand_seed=seed,
            networks=CommunityTies(),
            custom=SocialCredit(),
            interventions=Blacklist(),
            people_results=False,
            verbose=0,
        )
        self.sim.init()

    def simulate(self) -> None:
        self.sim.run()

    def run(self) -> pd.DataFrame:
        self.simulate()
        return self.outputs()

    def outputs(self) -> pd.DataFrame:
        sc = self.sim.results.socialcredit
        bl = self.sim.results.blacklist
        return as_frame(
            {
                "day": np.arange(self.days),
                "mean_score": sc.mean_score.values,
                "list_size": bl.n_listed.values,
                "blocked_purchases": bl.blocked_purchases.values,
                "household_members_of_listed": bl.household_members_of_listed.values,
            }
        )


def build(people: int, days: int, seed: int) -> ReferenceRun:
    return ReferenceRun(people, days, seed)


def run(people: int, days: int, seed: int) -> pd.DataFrame:
    """Run the model and return one row of outputs per day."""
    return build(people, days, seed).run()


if __name__ == "__main__":
    main("starsim", build)
