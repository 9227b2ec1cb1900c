// Package e2e drives a Cairn devnet with real clients written in other
// languages: ethers v6 and viem on Node.js, and Foundry's cast (e2e/js),
// against the L1 and against the optimistic rollup's verifier. Its tests
// skip where Node.js or the JavaScript dependencies are missing; `.ci/run`
// installs them with `npm ci --prefix e2e/js`.
package e2e
