"""What an intake records with a job reaches the worker: the payer list given with --payers too."""
from __future__ import annotations

from cobpipe.dist.intake import Intake
from cobpipe.dist.worker import job_options
from cobpipe.jobs.layout import Root
from cobpipe.jobs.process import JobOptions
from cobpipe.ledger import Ledger
from cobpipe.payers import PayerList
from cobpipe.pipeline import ConvertOptions

PAYERS = "payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n33333,Northwind,no,line,,NWM\n"


def test_the_workers_bill_by_the_intakes_payer_list(tmp_path):
    (tmp_path / "payers.csv").write_text(PAYERS)
    root = Root.prepare(tmp_path / "root")
    options = JobOptions(convert=ConvertOptions(payers=PayerList.load(tmp_path / "payers.csv"),
                                                paper_layout="full", usage="T"))
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        recorded = Intake(root, ledger, app=None, options=options)._job_options()
        (tmp_path / "payers.csv").unlink()  # the worker's host has no copy of it
        private = tmp_path / "worker"
        rebuilt = job_options(recorded, private, ledger)
    payers = rebuilt.convert.payers
    assert [p.payer_id for p in payers.payers] == ["33333"] and not payers.payers[0].accepts_electronic_secondary
    assert rebuilt.convert.paper_layout == "full" and rebuilt.convert.usage == "T"


def test_without_payers_the_worker_uses_the_shipped_list(tmp_path):
    root = Root.prepare(tmp_path / "root")
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        recorded = Intake(root, ledger, app=None, options=JobOptions(convert=ConvertOptions()))._job_options()
        assert "payers" not in recorded
        assert job_options(recorded, tmp_path / "worker", ledger).convert.payers is None
