// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Greeter is the contract Cairn's end-to-end tests deploy: storage, events,
/// a require with a reason, and BLOCKHASH.
contract Greeter {
    string public greeting;
    uint256 public count;

    event Greeted(address indexed from, string greeting, uint256 count);

    constructor(string memory initial) {
        greeting = initial;
    }

    function greet(string calldata next) external {
        require(bytes(next).length > 0, "empty greeting");
        greeting = next;
        count += 1;
        emit Greeted(msg.sender, next, count);
    }

    function hashOf(uint256 number) external view returns (bytes32) {
        return blockhash(number);
    }
}
