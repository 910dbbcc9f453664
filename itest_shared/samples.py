"""Sample source files: one small, real, runnable program per supported language.

Every sample implements the same inventory demo (a function, a class or struct, and
an async function where the language has one) and prints the same line when run:
``apple=4 pear=2 total=4.50 restocked=3``. Sharing one behaviour lets a test prove
the samples are real programs by running them and comparing their output.

.. versionadded:: 1.1
"""

from __future__ import annotations

import types
from collections.abc import Mapping

#: The languages the samples, the mock parsers and the file generator support.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("c", "javascript", "python", "rust")

#: File extension (with the dot) -> language name.
LANGUAGE_BY_EXTENSION: Mapping[str, str] = types.MappingProxyType(
    {".c": "c", ".js": "javascript", ".py": "python", ".rs": "rust"}
)

#: Language name -> file extension (with the dot).
EXTENSION_BY_LANGUAGE: Mapping[str, str] = types.MappingProxyType(
    {language: ext for ext, language in LANGUAGE_BY_EXTENSION.items()}
)

#: What every sample prints on stdout when run.
SAMPLE_OUTPUT = "apple=4 pear=2 total=4.50 restocked=3"

_PYTHON = '''\
"""Inventory demo: a function, a class and an async function, run as a program."""

from __future__ import annotations

import asyncio

PRICES = {"apple": 0.5, "pear": 1.25}


def total_value(stock: dict[str, int], prices: dict[str, float]) -> float:
    """Return the value of the stock at the given unit prices."""
    return sum(prices[name] * count for name, count in stock.items())


class Inventory:
    """Stock counts by item name."""

    def __init__(self) -> None:
        self.stock: dict[str, int] = {}

    def add(self, name: str, count: int) -> None:
        """Add count units of name; counts must not be negative."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self.stock[name] = self.stock.get(name, 0) + count

    @property
    def units(self) -> int:
        """Return the number of units in stock."""
        return sum(self.stock.values())

    def describe(self) -> str:
        """Return the stock as name=count pairs in name order."""
        return " ".join(f"{name}={count}" for name, count in sorted(self.stock.items()))


async def restock(inventory: Inventory, orders: list[tuple[str, int]]) -> int:
    """Deliver each order after yielding to the event loop; return the units added."""
    before = inventory.units
    for name, count in orders:
        await asyncio.sleep(0)
        inventory.add(name, count)
    return inventory.units - before


def main() -> None:
    """Stock the shelves and print the result."""
    inventory = Inventory()
    inventory.add("apple", 3)
    added = asyncio.run(restock(inventory, [("pear", 2), ("apple", 1)]))
    value = total_value(inventory.stock, PRICES)
    print(f"{inventory.describe()} total={value:.2f} restocked={added}")


if __name__ == "__main__":
    main()
'''

_JAVASCRIPT = """\
'use strict';
// Inventory demo: a function, a class and an async function, run as a program.

const PRICES = new Map([['apple', 0.5], ['pear', 1.25]]);

function totalValue(stock, prices) {
  let total = 0;
  for (const [name, count] of stock) {
    total += prices.get(name) * count;
  }
  return total;
}

class Inventory {
  constructor() {
    this.stock = new Map();
  }

  add(name, count) {
    if (count < 0) {
      throw new RangeError(`count must be >= 0, got ${count}`);
    }
    this.stock.set(name, (this.stock.get(name) ?? 0) + count);
  }

  describe() {
    const names = [...this.stock.keys()].sort();
    return names.map((name) => `${name}=${this.stock.get(name)}`).join(' ');
  }
}

async function restock(inventory, orders) {
  let added = 0;
  for (const [name, count] of orders) {
    await Promise.resolve();
    inventory.add(name, count);
    added += count;
  }
  return added;
}

async function main() {
  const inventory = new Inventory();
  inventory.add('apple', 3);
  const added = await restock(inventory, [['pear', 2], ['apple', 1]]);
  const value = totalValue(inventory.stock, PRICES);
  console.log(`${inventory.describe()} total=${value.toFixed(2)} restocked=${added}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
"""

_RUST = """\
//! Inventory demo: a function, a struct and an async function, run as a program.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

const PRICES: [(&str, f64); 2] = [("apple", 0.5), ("pear", 1.25)];

fn total_value(stock: &BTreeMap<String, u32>, prices: &[(&str, f64)]) -> f64 {
    stock
        .iter()
        .map(|(name, count)| {
            let price = prices.iter().find(|(n, _)| *n == name.as_str()).map_or(0.0, |(_, p)| *p);
            price * f64::from(*count)
        })
        .sum()
}

trait Describe {
    fn describe(&self) -> String;
}

#[derive(Debug, Default)]
struct Inventory {
    stock: BTreeMap<String, u32>,
}

impl Inventory {
    fn add(&mut self, name: &str, count: u32) {
        *self.stock.entry(name.to_string()).or_insert(0) += count;
    }
}

impl Describe for Inventory {
    fn describe(&self) -> String {
        let pairs: Vec<String> = self.stock.iter().map(|(n, c)| format!("{n}={c}")).collect();
        pairs.join(" ")
    }
}

async fn restock(inventory: &mut Inventory, orders: &[(&str, u32)]) -> u32 {
    let mut added = 0;
    for (name, count) in orders {
        inventory.add(name, *count);
        added += count;
    }
    added
}

/// Poll a future to completion on this thread; the demo's futures never wait on I/O.
fn block_on<F: Future>(future: F) -> F::Output {
    fn noop_raw_waker() -> RawWaker {
        fn clone(_: *const ()) -> RawWaker {
            noop_raw_waker()
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    // SAFETY: every vtable function ignores the data pointer, so a null one is fine.
    let waker = unsafe { Waker::from_raw(noop_raw_waker()) };
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fn main() {
    let mut inventory = Inventory::default();
    inventory.add("apple", 3);
    let added = block_on(restock(&mut inventory, &[("pear", 2), ("apple", 1)]));
    let value = total_value(&inventory.stock, &PRICES);
    println!("{} total={value:.2} restocked={added}", inventory.describe());
}
"""

_C = """\
/* Inventory demo: functions and structs, run as a program (C has no async functions). */
#include <stdio.h>
#include <string.h>

#define MAX_ITEMS 8

struct item {
    const char *name;
    unsigned count;
};

struct inventory {
    struct item items[MAX_ITEMS];
    size_t len;
};

struct order {
    const char *name;
    unsigned count;
};

static double price_of(const char *name) {
    if (strcmp(name, "apple") == 0) {
        return 0.5;
    }
    return strcmp(name, "pear") == 0 ? 1.25 : 0.0;
}

static struct item *inventory_find(struct inventory *inv, const char *name) {
    for (size_t i = 0; i < inv->len; i++) {
        if (strcmp(inv->items[i].name, name) == 0) {
            return &inv->items[i];
        }
    }
    return NULL;
}

static int inventory_add(struct inventory *inv, const char *name, unsigned count) {
    struct item *slot = inventory_find(inv, name);
    if (slot == NULL) {
        if (inv->len == MAX_ITEMS) {
            return -1;
        }
        slot = &inv->items[inv->len++];
        slot->name = name;
        slot->count = 0;
    }
    slot->count += count;
    return 0;
}

static double total_value(const struct inventory *inv) {
    double total = 0.0;
    for (size_t i = 0; i < inv->len; i++) {
        total += price_of(inv->items[i].name) * inv->items[i].count;
    }
    return total;
}

static unsigned restock(struct inventory *inv, const struct order *orders, size_t n) {
    unsigned added = 0;
    for (size_t i = 0; i < n; i++) {
        if (inventory_add(inv, orders[i].name, orders[i].count) == 0) {
            added += orders[i].count;
        }
    }
    return added;
}

int main(void) {
    struct inventory inv = {0};
    const struct order orders[] = {{"pear", 2}, {"apple", 1}};
    inventory_add(&inv, "apple", 3);
    unsigned added = restock(&inv, orders, sizeof orders / sizeof orders[0]);
    for (size_t i = 0; i < inv.len; i++) {
        printf("%s=%u ", inv.items[i].name, inv.items[i].count);
    }
    printf("total=%.2f restocked=%u\\n", total_value(&inv), added);
    return 0;
}
"""

_SAMPLES: Mapping[str, str] = types.MappingProxyType(
    {"sample.py": _PYTHON, "sample.js": _JAVASCRIPT, "sample.rs": _RUST, "sample.c": _C}
)


def sample_code_files() -> dict[str, str]:
    """Return a fresh ``{filename: source}`` dict with one sample program per language."""
    # A new dict each call, so a test that edits its copy cannot leak into another test.
    return dict(_SAMPLES)


def language_of(filename: str) -> str:
    """Return the language of ``filename`` from its extension, or raise ValueError."""
    if not isinstance(filename, str):
        raise TypeError(f"filename must be a str, got {type(filename).__name__}")
    dot = filename.rfind(".")
    ext = filename[dot:].lower() if dot >= 0 else ""
    try:
        return LANGUAGE_BY_EXTENSION[ext]
    except KeyError:
        raise ValueError(
            f"filename {filename!r} has no known extension; "
            f"valid extensions: {', '.join(sorted(LANGUAGE_BY_EXTENSION))}"
        ) from None
