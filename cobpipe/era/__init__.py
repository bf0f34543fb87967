"""The 835 (005010X221A1) remittance: model, streaming parser, balancing rules, claim status.

    from cobpipe.era import read_remittances
    for remit in read_remittances(path):
        for claim in remit.claims():
            ...
"""
from __future__ import annotations

from .balance import (check_claim, check_claim_level, check_line, claim_balance, line_balance,
                      patient_responsibility, transaction_balance)
from .codes import CODES
from .model import (Address, Adjustment, BalanceFinding, Cas, ClaimPayment, Contact, Envelope, Mia, Moa, Party,
                    Payee, Payer, Payment, PlbAdjustment, Procedure, ProviderAdjustment, Remark,
                    RemittanceHeader, RemittanceTotals, ServiceLine, Trace, format_money)
from .parser import (Remittance, RemittanceReader, parse_remittance_text, parse_remittances,
                     read_remittances)
from .status import (CLAIM_STATUS, ClaimGroup, ClaimStatus, ReversalPair, crossover_evidence, group_claims,
                     is_cob_input, is_crossover, is_denial, is_reversal, payer_level, status_of)

__all__ = [
    "Address", "Adjustment", "BalanceFinding", "CLAIM_STATUS", "CODES", "Cas", "ClaimGroup", "ClaimPayment",
    "ClaimStatus", "Contact", "Envelope", "Mia", "Moa", "Party", "Payee", "Payer", "Payment", "PlbAdjustment",
    "Procedure", "ProviderAdjustment", "Remark", "Remittance", "RemittanceHeader", "RemittanceReader",
    "RemittanceTotals", "ReversalPair", "ServiceLine", "Trace", "check_claim", "check_claim_level", "check_line",
    "claim_balance", "crossover_evidence", "format_money", "group_claims", "is_cob_input", "is_crossover",
    "is_denial", "is_reversal", "line_balance", "parse_remittance_text", "parse_remittances",
    "patient_responsibility", "payer_level", "read_remittances", "status_of", "transaction_balance",
]
