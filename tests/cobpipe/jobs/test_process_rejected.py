"""Nothing in rejected/ or archive/ is ever overwritten (issue 15, item 2)."""
import json

from cobpipe.jobs.process import Status, process_inbound

from jobfiles import drop


def test_a_reason_file_never_replaces_a_rejected_input_of_that_name(root, ledger, options):
    """The exact scenario of the issue: non-X12 bytes named zz.837.reason.json, then zz.837."""
    first_bytes = b"first file: not X12 at all\n"
    (root.inbound / "zz.837.reason.json").write_bytes(first_bytes)
    first = process_inbound(root.inbound / "zz.837.reason.json", ledger, root, options)
    assert first.status is Status.REJECTED
    second = drop(root.inbound, "zz.837", "second file: not X12 either\n")
    outcome = process_inbound(second, ledger, root, options)
    assert outcome.status is Status.REJECTED
    kept = {p.name: p.read_bytes() for p in root.rejected.iterdir()}
    assert first_bytes in kept.values(), "the first rejected input was overwritten"
    assert b"second file: not X12 either\n" in kept.values()
    # each input has its own reason file beside it, naming it
    for name, data in kept.items():
        if data in (first_bytes, b"second file: not X12 either\n"):
            reason = json.loads(kept[f"{name}.reason.json"])
            assert reason["sha256"] in (first.sha256, outcome.sha256)
    assert len(kept) == 4


def test_the_other_order_and_repeats_keep_every_file(root, ledger, options):
    contents = []
    for n, name in enumerate(["zz.837", "zz.837.reason.json", "zz.837", "zz.837.reason.json.reason.json",
                              "zz.837.reason.json"]):
        data = f"not X12, file {n}\n"
        contents.append(data.encode())
        outcome = process_inbound(drop(root.inbound, name, data), ledger, root, options)
        assert outcome.status is Status.REJECTED
    kept = [p.read_bytes() for p in root.rejected.iterdir()]
    for data in contents:
        assert data in kept
    reasons = [json.loads(p.read_text()) for p in root.rejected.iterdir()
               if p.read_bytes() not in contents]
    assert len(reasons) == len(contents)
    assert len({r["sha256"] for r in reasons}) == len(contents)


def test_an_837p_named_like_the_work_folder_s_own_files_is_stored(root, ledger, options):
    from jobfiles import claims_837

    for name in ("claims.sqlite", "out", "claims.sqlite-wal"):
        outcome = process_inbound(drop(root.inbound, name, claims_837([f"N{len(name)}"], control=300 + len(name))),
                                  ledger, root, options)
        assert outcome.status is Status.STORED, outcome


def test_an_837p_named_out_still_converts_the_claims_an_earlier_835_left_unmatched(root, ledger, options):
    from jobfiles import claims_837, era_835

    assert process_inbound(drop(root.inbound, "era.835", era_835(["OUT1"])), ledger, root, options).status \
        is Status.PARTIAL
    outcome = process_inbound(drop(root.inbound, "out", claims_837(["OUT1"])), ledger, root, options)
    assert outcome.status is Status.STORED and outcome.counts.get("retried_converted") == 1, outcome
    assert list(root.work.iterdir()) == []
