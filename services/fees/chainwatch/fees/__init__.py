"""chainwatch fees: projected blocks from the mempool and fee-rate recommendations."""
