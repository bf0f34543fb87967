"""The COB mapper: the primary's adjudication (835) into the secondary payer's 837P."""
