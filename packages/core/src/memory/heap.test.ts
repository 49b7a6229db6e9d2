import { describe, expect, it } from "vitest";
import { BinaryHeap } from "./heap.js";

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const lessThan = (a: number, b: number): boolean => a < b;

function drain<T>(heap: BinaryHeap<T>): T[] {
  const out: T[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

describe("BinaryHeap", () => {
  it("pops in comparator order, duplicates included", () => {
    const random = lcg(1);
    const heap = new BinaryHeap(lessThan);
    const values = Array.from({ length: 2000 }, () => Math.floor(random() * 300));
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(2000);
    expect(drain(heap)).toEqual([...values].sort((a, b) => a - b));
    expect(heap.size).toBe(0);
  });

  it("returns undefined from pop and peek when empty", () => {
    const heap = new BinaryHeap(lessThan);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
    heap.push(7);
    expect(heap.peek()).toBe(7);
    expect(heap.pop()).toBe(7);
    expect(heap.pop()).toBeUndefined();
  });

  it("stays ordered when pushes and pops interleave", () => {
    const random = lcg(2);
    const heap = new BinaryHeap(lessThan);
    const model: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (model.length > 0 && random() < 0.45) {
        model.sort((a, b) => a - b);
        expect(heap.pop()).toBe(model.shift());
      } else {
        const v = Math.floor(random() * 1000);
        heap.push(v);
        model.push(v);
      }
      expect(heap.size).toBe(model.length);
    }
  });

  it("orders by a compound key through the comparator", () => {
    interface Item {
      key: number;
      seq: number;
    }
    const heap = new BinaryHeap<Item>(
      (a, b) => a.key < b.key || (a.key === b.key && a.seq < b.seq),
    );
    const items = [5, 1, 5, 1, 3].map((key, seq) => ({ key, seq }));
    for (const item of [...items].reverse()) heap.push(item);
    expect(drain(heap).map((i) => i.seq)).toEqual([1, 3, 4, 0, 2]);
  });

  it("retain drops rejected items and keeps heap order", () => {
    const random = lcg(3);
    const heap = new BinaryHeap(lessThan);
    const values = Array.from({ length: 1000 }, () => Math.floor(random() * 10_000));
    for (const v of values) heap.push(v);
    heap.retain((v) => v % 3 !== 0);
    const expected = values.filter((v) => v % 3 !== 0).sort((a, b) => a - b);
    expect(heap.size).toBe(expected.length);
    expect(drain(heap)).toEqual(expected);
  });
});
