"""Acknowledgments: the 999 and 277CA the clearinghouse sends back for our secondary 837Ps
(`read`, `apply`), and the TA1 / 999 cobpipe writes for every file it receives (`write`).

    read.py     999 (005010X231A1) and 277CA (005010X214) readers, on edi.reader
    apply.py    match an acknowledgment to what the ledger says we issued; store each claim's state
    write.py    TA1 / 999 for a received file, from the reader's and the guide's findings
    hook.py     what cobpipe.jobs.process calls: ack files in, acknowledgments out
    codes.py    claim status category / status code words (mappings/claim_status_category.csv)
"""
