package rollup

// Reasons derivation drops data, as counted in DropStats and the
// cairn_rollup_derivation_dropped_total metric. docs/rollup.md numbers
// the rules.
const (
	DropForeignSender  = "foreign-sender"   // inbox tx not from the batcher (rule 3)
	DropBadBlob        = "bad-blob"         // a batcher blob that does not decode (rule 4), or holds over MaxInboxData (rule 3)
	DropBadCertificate = "bad-certificate"  // a committee certificate that does not verify (rule 4)
	DropBadCommitment  = "bad-commitment"   // a sampling commitment that does not parse (rule 4)
	DropBadFrame       = "bad-frame"        // tx data that is not valid frames (rule 4)
	DropFrame          = "frame"            // frame or channel dropped by the assembler (rule 5)
	DropInboxValue     = "inbox-value"      // a batcher transaction carrying value, which the inbox refuses (rule 3)
	DropInboxSize      = "inbox-size"       // batcher calldata over MaxInboxData, which the inbox does not record (rule 3)
	DropBadChannel     = "bad-channel"      // channel that does not decompress or decode (rule 6)
	DropNotNext        = "batch-not-next"   // batch that does not extend the safe head (rule 7)
	DropBadBlock       = "block-rule"       // block breaking an origin, time or window rule (rule 8)
	DropForcedInvalid  = "forced-undecoded" // forced tx that does not decode (rule 10)
)
