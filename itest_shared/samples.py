"""Sample source files: one small, real, runnable program per supported language.

Every sample has the prototype's definitions (``calculate_sum``, ``DataProcessor``
with ``process``, and ``fetch_data``, async where the language has it; C has
``process_item`` instead of a method and no async function), uses each once and
prints the same line when run: ``SAMPLE_OUTPUT``. Sharing one behaviour lets a test
prove the samples are real programs by running them and comparing their output.

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
SAMPLE_OUTPUT = "sum=10 doubled=2,4,6 stored=3 url=https://example.com/items data=sample"

_PYTHON = '''
def calculate_sum(numbers):
    """Calculate the sum of numbers."""
    return sum(numbers)


class DataProcessor:
    """Processes items one at a time and keeps every item it was given."""

    def __init__(self):
        self.data = []

    def process(self, item):
        """Process a single item: keep it and return it doubled."""
        self.data.append(item)
        return item * 2


async def fetch_data(url):
    """Fetch data asynchronously (a short sleep stands in for the network)."""
    await asyncio.sleep(0.01)
    return {"url": url, "data": "sample"}


# Imported below the definitions: the sample opens with calculate_sum, as the
# prototype's does (its first "def " at offset 1), and asyncio is only needed at call time.
import asyncio


def main():
    """Use each definition once and print what they returned."""
    total = calculate_sum([1, 2, 3, 4])
    processor = DataProcessor()
    doubled = [processor.process(item) for item in (1, 2, 3)]
    result = asyncio.run(fetch_data("https://example.com/items"))
    print(
        f"sum={total} doubled={','.join(map(str, doubled))} stored={len(processor.data)} "
        f"url={result['url']} data={result['data']}"
    )


if __name__ == "__main__":
    main()
'''

_JAVASCRIPT = """
'use strict';
// Sample program: a function, a class and an async function, run as a program.

// Calculate the sum of numbers.
function calculateSum(numbers) {
  return numbers.reduce((sum, n) => sum + n, 0);
}

class DataProcessor {
  constructor() {
    this.data = [];
  }

  process(item) {
    this.data.push(item);
    return item * 2;
  }
}

async function fetchData(url) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { url, data: 'sample' };
}

async function main() {
  const total = calculateSum([1, 2, 3, 4]);
  const processor = new DataProcessor();
  const doubled = [1, 2, 3].map((item) => processor.process(item));
  const result = await fetchData('https://example.com/items');
  const stored = processor.data.length;
  console.log(`sum=${total} doubled=${doubled.join(',')} stored=${stored} ` +
    `url=${result.url} data=${result.data}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
"""

_RUST = """
//! Sample program: a function, a struct and an async function, run as a program.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

fn calculate_sum(numbers: &[i32]) -> i32 {
    numbers.iter().sum()
}

struct DataProcessor {
    data: Vec<i32>,
}

impl DataProcessor {
    fn new() -> Self {
        DataProcessor { data: Vec::new() }
    }

    fn process(&mut self, item: i32) -> i32 {
        self.data.push(item);
        item * 2
    }
}

struct Response {
    url: String,
    data: String,
}

#[derive(Debug)]
enum Error {
    EmptyUrl,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyUrl => write!(f, "url is empty"),
        }
    }
}

/// Pending once, then ready: stands in for waiting on the network.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn fetch_data(url: &str) -> Result<Response, Error> {
    if url.is_empty() {
        return Err(Error::EmptyUrl);
    }
    YieldOnce(false).await;
    Ok(Response { url: url.to_string(), data: String::from("sample") })
}

/// Poll a future to completion on this thread; the sample's futures never wait on I/O.
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
    let total = calculate_sum(&[1, 2, 3, 4]);
    let mut processor = DataProcessor::new();
    let doubled: Vec<String> = [1, 2, 3].map(|item| processor.process(item).to_string()).to_vec();
    match block_on(fetch_data("https://example.com/items")) {
        Ok(result) => println!(
            "sum={total} doubled={} stored={} url={} data={}",
            doubled.join(","),
            processor.data.len(),
            result.url,
            result.data
        ),
        Err(error) => {
            eprintln!("fetch failed: {error}");
            std::process::exit(1);
        }
    }
}
"""

_C = """
/* Sample program: a function and a struct, run as a program (C has no async functions). */
#include <stdio.h>
#include <stdlib.h>

int calculate_sum(int* numbers, int count) {
    int sum = 0;
    for (int i = 0; i < count; i++) {
        sum += numbers[i];
    }
    return sum;
}

typedef struct {
    int* data;
    int size;
    int capacity;
} DataProcessor;

/* Store the processed (doubled) item, growing the array as needed. */
void process_item(DataProcessor* dp, int item) {
    if (dp->size == dp->capacity) {
        int capacity = dp->capacity > 0 ? dp->capacity * 2 : 4;
        int* data = realloc(dp->data, sizeof *data * (size_t)capacity);
        if (data == NULL) {
            perror("process_item");
            exit(EXIT_FAILURE);
        }
        dp->data = data;
        dp->capacity = capacity;
    }
    dp->data[dp->size++] = item * 2;
}

int main(void) {
    int numbers[] = {1, 2, 3, 4};
    DataProcessor dp = {NULL, 0, 0};
    for (int item = 1; item <= 3; item++) {
        process_item(&dp, item);
    }
    printf("sum=%d doubled=", calculate_sum(numbers, 4));
    for (int i = 0; i < dp.size; i++) {
        printf("%s%d", i > 0 ? "," : "", dp.data[i]);
    }
    printf(" stored=%d url=https://example.com/items data=sample\\n", dp.size);
    free(dp.data);
    return 0;
}
"""

# The 1.1/1.2 keys, still readable: ``files["sample.py"]`` is ``files["example.py"]``.
_OLD_NAMES: Mapping[str, str] = types.MappingProxyType(
    {
        "sample.py": "example.py",
        "sample.js": "example.js",
        "sample.rs": "example.rs",
        "sample.c": "example.c",
    }
)

_SAMPLES: Mapping[str, str] = types.MappingProxyType(
    {"example.py": _PYTHON, "example.js": _JAVASCRIPT, "example.rs": _RUST, "example.c": _C}
)


class SampleFiles(dict[str, str]):
    """A ``{filename: source}`` dict that also reads the 1.1/1.2 names (``sample.py`` ...).

    It lists, counts and iterates only the four keys ``example.py``, ``example.js``,
    ``example.rs``, ``example.c``; ``files["sample.py"]`` reads ``files["example.py"]``
    (its current value), as do the other ``sample.*`` names. Only ``[]`` knows the old
    names (``in``, ``get`` and ``dict(files)`` do not), as with ``defaultdict``.

    .. versionadded:: 1.3
    """

    def __missing__(self, key: object) -> str:
        new = _OLD_NAMES.get(key) if isinstance(key, str) else None
        if new is None or new not in self:
            # The key the caller asked for, not the new name: that is what they will look for.
            raise KeyError(key)
        return self[new]


def sample_code_files() -> SampleFiles:
    """Return a fresh ``{filename: source}`` dict with one sample program per language.

    Keys, in order: ``example.py``, ``example.js``, ``example.rs``, ``example.c`` (the
    prototype's). The 1.1/1.2 names ``sample.py`` ... still read (see ``SampleFiles``).

    .. versionchanged:: 1.3
       Keys renamed from ``sample.*`` to ``example.*``; programs rewritten to the
       prototype's definitions (``calculate_sum``, ``DataProcessor``, ``fetch_data``).
    """
    # A new dict each call, so a test that edits its copy cannot leak into another test.
    return SampleFiles(_SAMPLES)


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
