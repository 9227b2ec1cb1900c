// Drives a running Cairn layer (the L1, or the optimistic rollup through its
// verifier) with ethers v6, as a dapp would. Run by `go test ./e2e/...`,
// which starts a devnet and passes its URLs and chain ID.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const url = process.env.CAIRN_RPC;
const wsUrl = process.env.CAIRN_WS;
const chainId = BigInt(process.env.CAIRN_CHAIN_ID ?? "1337");
const layer = process.env.CAIRN_LAYER ?? "L1";
const devKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"; // test mnemonic account 0
const abi = JSON.parse(readFileSync(new URL("../../contracts/build/Greeter.abi", import.meta.url)));
const bin = "0x" + readFileSync(new URL("../../contracts/build/Greeter.bin", import.meta.url), "utf8").trim();

test(`ethers v6 against Cairn's ${layer}`, async (t) => {
  // ethers caches identical requests for 250 ms by default, so a second
  // send within that time would reuse the first's pending nonce against
  // any node, geth included: ask the node every time.
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 100 });
  const wallet = new ethers.Wallet(devKey, provider);

  const network = await provider.getNetwork();
  assert.equal(network.chainId, chainId);

  const fee = await provider.getFeeData();
  assert.ok(fee.maxFeePerGas > 0n && fee.maxPriorityFeePerGas >= 0n, "fee data");

  // A plain transfer, with ethers filling nonce, gas and EIP-1559 fees.
  const to = ethers.Wallet.createRandom().address;
  const tx = await wallet.sendTransaction({ to, value: ethers.parseEther("1.5") });
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  assert.equal(await provider.getBalance(to), ethers.parseEther("1.5"));
  const block = await provider.getBlock(receipt.blockNumber, true);
  assert.equal(block.hash, receipt.blockHash);
  assert.ok(block.prefetchedTransactions.some((x) => x.hash === tx.hash));

  // Two sends back to back, the second before the first is mined: each
  // gets its own nonce from eth_getTransactionCount(pending).
  const a = await wallet.sendTransaction({ to, value: 1n });
  const b = await wallet.sendTransaction({ to, value: 2n });
  assert.equal(b.nonce, a.nonce + 1);
  assert.equal((await b.wait()).status, 1);
  assert.equal((await a.wait()).status, 1);
  assert.equal(await provider.getBalance(to), ethers.parseEther("1.5") + 3n);

  // Deploy, call, transact, read events.
  const factory = new ethers.ContractFactory(abi, bin, wallet);
  const greeter = await factory.deploy("hello");
  await greeter.waitForDeployment();
  assert.equal(await greeter.greeting(), "hello");
  const g = await greeter.greet("hi from ethers");
  await g.wait();
  assert.equal(await greeter.count(), 1n);
  const events = await greeter.queryFilter(greeter.filters.Greeted(wallet.address));
  assert.equal(events.length, 1);
  assert.equal(events[0].args[1], "hi from ethers");

  // A revert comes back with its reason.
  await assert.rejects(greeter.greet(""), (err) => {
    assert.equal(err.code, "CALL_EXCEPTION");
    assert.equal(err.reason, "empty greeting");
    return true;
  });

  // Nonce errors keep geth's wording, which ethers maps to its own codes.
  await assert.rejects(
    wallet.sendTransaction({ to, value: 1n, nonce: 0 }),
    (err) => err.code === "NONCE_EXPIRED",
  );

  // On a rollup, a deposit from L1 is a transaction of type 0x7e, first in
  // its block, with a receipt.
  const depositHash = process.env.CAIRN_DEPOSIT_TX;
  if (depositHash) {
    const dep = await provider.getTransaction(depositHash);
    assert.equal(dep.type, 0x7e);
    const dr = await provider.getTransactionReceipt(depositHash);
    assert.equal(dr.status, 1);
    const db = await provider.getBlock(dr.blockNumber, true);
    assert.equal(db.prefetchedTransactions[0].hash, depositHash);
  }

  // A WebSocket provider sees new blocks.
  const ws = new ethers.WebSocketProvider(wsUrl);
  const seen = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no block over WebSocket")), 20000);
    ws.once("block", (n) => { clearTimeout(timer); resolve(n); });
  });
  assert.ok(seen > 0);
  await ws.destroy();
  provider.destroy();
});
