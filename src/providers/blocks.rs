//! The content blocks of one translated answer. Each translator decides what its upstream's
//! parts become; this numbers the blocks in the order they start and writes their starts and
//! stops, a thinking block's ending with bgw's signature, the same way for every wire format.

use crate::messages::{BlockStart, Delta, StreamEvent};

pub use crate::messages::event::MAX_BLOCKS;

/// The blocks of one answer so far.
#[derive(Debug, Default)]
pub struct Blocks {
    next: usize,
}

impl Blocks {
    /// Starts `block` under the next index, which it returns.
    pub fn start(&mut self, block: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        let index = self.next;
        self.next += 1;
        out.push(StreamEvent::BlockStart { index, block });
        index
    }

    /// How many blocks have started.
    pub fn started(&self) -> usize {
        self.next
    }

    /// Whether another block would pass [`MAX_BLOCKS`].
    pub fn full(&self) -> bool {
        self.next >= MAX_BLOCKS
    }

    /// Ends block `index`.
    pub fn stop(index: usize, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::BlockStop { index });
    }

    /// Ends thinking block `index`: its signature, when bgw signs it, then its stop.
    pub fn stop_thinking(index: usize, signature: Option<String>, out: &mut Vec<StreamEvent>) {
        if let Some(signature) = signature {
            out.push(StreamEvent::BlockDelta {
                index,
                delta: Delta::SignatureDelta { signature },
            });
        }
        out.push(StreamEvent::BlockStop { index });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_numbered_in_the_order_they_start_and_thinking_ends_signed() {
        let mut blocks = Blocks::default();
        let mut out = Vec::new();
        let thinking = BlockStart::Thinking {
            thinking: String::new(),
            signature: String::new(),
        };
        let a = blocks.start(thinking, &mut out);
        Blocks::stop_thinking(a, Some("sig".into()), &mut out);
        let b = blocks.start(
            BlockStart::Text {
                text: String::new(),
            },
            &mut out,
        );
        Blocks::stop(b, &mut out);
        assert_eq!((a, b, blocks.started()), (0, 1, 2));
        assert_eq!(
            out[1],
            StreamEvent::BlockDelta {
                index: 0,
                delta: Delta::SignatureDelta {
                    signature: "sig".into()
                }
            }
        );
        assert_eq!(out[2], StreamEvent::BlockStop { index: 0 });
        assert_eq!(out[4], StreamEvent::BlockStop { index: 1 });
    }

    #[test]
    fn an_unsigned_thinking_block_just_stops() {
        let mut out = Vec::new();
        Blocks::stop_thinking(3, None, &mut out);
        assert_eq!(out, vec![StreamEvent::BlockStop { index: 3 }]);
    }
}
