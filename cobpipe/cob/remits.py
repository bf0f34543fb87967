"""The remitted claims of one ERA, in file order, as the mapper reads them (RemitClaim), each with
the header of the 835 transaction set it came in.

The one place the converter reads an 835: straight from the text into RemitClaims (remits_fast) when
the clean pre-scan (era/clean.py) vouched for the file, else the general reader (era.parser, then
from_era.remit_claim); `ConvertOptions(plain=True)` forces the general one (the reference every
fast read is tested against).
"""
from __future__ import annotations

from collections.abc import Iterator

from edi.findings import Finding

from .decision import ConvertOptions, EraScan
from .from_era import remit_claim
from .remit import RemitClaim


class RemitStream:
    """Iterate for (header, RemitClaim). `findings` holds the file's findings that name no claim
    (envelope, skipped sets), complete for each transaction set once its claims are read."""

    def __init__(self, scan: EraScan, options: ConvertOptions, share=None) -> None:
        self.scan = scan
        self.options = options
        self.share = share  # remits_fast.Share: one process's share of a split conversion (fast read only)
        self.findings: list[Finding] = []
        self.fast = self.slow = 0  # claims read straight from the text / by the general reader
        self.skipped = 0  # a share's chunks of other processes' claims alone, skipped whole (fast read)

    def __iter__(self) -> Iterator[tuple[object, RemitClaim]]:
        scan = self.scan
        clean = scan.clean
        if clean is not None and not self.options.plain and getattr(clean, "codes", None) == {"835"}:
            from .remits_fast import FastRemits

            reader = FastRemits(scan.path, clean, self.options.as_of, self.options.only_claims,  # type: ignore[arg-type]
                                self.findings, self.share)
            try:
                yield from reader
            finally:
                self.fast, self.slow, self.skipped = reader.fast, reader.slow, reader.skipped
            return
        if self.share is not None:
            raise ValueError("a share of the ERA is read only by the fast read (a clean 835)")
        yield from self._general()

    def _general(self) -> Iterator[tuple[object, RemitClaim]]:
        from ..era import RemittanceReader, read_remittances

        scan, only, as_of = self.scan, self.options.only_claims, self.options.as_of
        if scan.clean is not None and not self.options.plain:
            from ..era.clean import CleanReader

            remittances = RemittanceReader(CleanReader(scan.path, scan.clean))  # type: ignore[arg-type]
        else:
            remittances = read_remittances(scan.path)
        for remittance in remittances:
            header = remittance.header
            for payment in remittance.claims():
                if only is not None and payment.claim_id.strip() not in only:
                    continue
                self.slow += 1
                yield header, remit_claim(payment, header, as_of)
            self.findings += [f for f in remittance.findings if f.location.claim is None]
