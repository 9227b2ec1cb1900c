// Package e2e drives a Cairn devnet with real clients written in other
// languages: today ethers v6 on Node.js (e2e/js). Its tests skip where
// Node.js or the JavaScript dependencies are missing; `.ci/run` installs them
// with `npm ci --prefix e2e/js`.
package e2e
