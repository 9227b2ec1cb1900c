// Drives a running Cairn layer with viem, as a dapp would: transfers sent
// back to back, a deployment, a call, a transaction and its event. Run by
// `go test ./e2e/...`, which starts a devnet and passes its URL and chain ID.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, defineChain, http, parseEther } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";

const url = process.env.CAIRN_RPC;
const id = Number(process.env.CAIRN_CHAIN_ID ?? "1337");
const layer = process.env.CAIRN_LAYER ?? "L1";
const devKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // test mnemonic account 1
const abi = JSON.parse(readFileSync(new URL("../../contracts/build/Greeter.abi", import.meta.url)));
const bytecode = "0x" + readFileSync(new URL("../../contracts/build/Greeter.bin", import.meta.url), "utf8").trim();

const chain = defineChain({
  id,
  name: `cairn-${layer}`,
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});

test(`viem against Cairn's ${layer}`, async () => {
  const account = privateKeyToAccount(devKey);
  const pub = createPublicClient({ chain, transport: http(url), pollingInterval: 50 });
  const wallet = createWalletClient({ account, chain, transport: http(url) });
  assert.equal(await pub.getChainId(), id);

  // Two transfers back to back, then both receipts.
  const to = privateKeyToAccount(generatePrivateKey()).address;
  const h1 = await wallet.sendTransaction({ to, value: parseEther("1") });
  const h2 = await wallet.sendTransaction({ to, value: 5n });
  const [r1, r2] = await Promise.all([
    pub.waitForTransactionReceipt({ hash: h1 }),
    pub.waitForTransactionReceipt({ hash: h2 }),
  ]);
  assert.equal(r1.status, "success");
  assert.equal(r2.status, "success");
  assert.equal(await pub.getBalance({ address: to }), parseEther("1") + 5n);
  const t2 = await pub.getTransaction({ hash: h2 });
  const t1 = await pub.getTransaction({ hash: h1 });
  assert.equal(t2.nonce, t1.nonce + 1);
  const block = await pub.getBlock({ blockNumber: r2.blockNumber, includeTransactions: true });
  assert.ok(block.transactions.some((x) => x.hash === h2));

  // Deploy, read, write, and read the event back.
  const deployHash = await wallet.deployContract({ abi, bytecode, args: ["hello"] });
  const deployed = await pub.waitForTransactionReceipt({ hash: deployHash });
  const address = deployed.contractAddress;
  assert.equal(await pub.readContract({ address, abi, functionName: "greeting" }), "hello");
  const g = await wallet.writeContract({ address, abi, functionName: "greet", args: ["hi from viem"] });
  const gr = await pub.waitForTransactionReceipt({ hash: g });
  assert.equal(gr.status, "success");
  const logs = await pub.getContractEvents({ address, abi, eventName: "Greeted", fromBlock: deployed.blockNumber });
  assert.equal(logs.length, 1);
  assert.equal(logs[0].args.greeting, "hi from viem");

  // A revert is refused at estimation, with its reason.
  await assert.rejects(
    wallet.writeContract({ address, abi, functionName: "greet", args: [""] }),
    (err) => /empty greeting/.test(err.message),
  );
  // On a rollup, a deposit from L1 is a transaction of type 0x7e, first in
  // its block, with a receipt.
  const depositHash = process.env.CAIRN_DEPOSIT_TX;
  if (depositHash) {
    const dep = await pub.getTransaction({ hash: depositHash });
    assert.equal(dep.typeHex, "0x7e");
    const dr = await pub.getTransactionReceipt({ hash: depositHash });
    assert.equal(dr.status, "success");
    const db = await pub.getBlock({ blockNumber: dr.blockNumber, includeTransactions: true });
    assert.equal(db.transactions[0].hash, depositHash);
  }

  const fees = await pub.estimateFeesPerGas();
  assert.ok(fees.maxFeePerGas > 0n);
});
