//! Data types shared by the browser and the server: what a conversation, a
//! message node and a stream event look like on the wire. One file per
//! kind: [`message`], [`conversation`], [`events`], [`receipts`],
//! [`replay_progress`] and [`stream_wire`]; everything is re-exported here.

pub mod conversation;
pub mod events;
pub mod message;
pub mod receipts;
pub mod replay_progress;
pub mod stream_wire;

pub use conversation::*;
pub use events::*;
pub use message::*;
pub use receipts::*;
pub use replay_progress::*;
pub use stream_wire::*;
