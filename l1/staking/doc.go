// Package staking is the L1's proof of stake: a system contract where
// validators register (binding their CometBFT ed25519 key to an L1 account by
// a signature), accounts delegate and unbond, rewards are paid, and a block
// hook that applies consensus evidence (slashing, jailing) and turns stake
// into CometBFT voting power.
//
// Stake is held in shares, as in Cosmos SDK's staking: each validator has a
// total stake and total shares; a delegation owns shares. Rewards raise a
// validator's stake (every delegation's shares grow in value, so rewards
// compound), the validator's commission is paid as new shares to its
// operator, and a slash lowers the stake (every delegation loses in
// proportion). Voting power is whole ETH of stake, zero when jailed or below
// the minimum stake, among the top MaxValidators.
//
// All state is in the contract's storage; the contract's balance holds every
// stake and unbonding amount ("accounted"). Whatever else arrives there in a
// block — the priority fees, as the contract is every block's coinbase — is
// the block's reward, with BlockReward minted on top, and goes to the
// proposer's validator at the end of the block.
package staking
