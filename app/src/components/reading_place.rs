//! Keeps a reader's place in the message list while the message at its end
//! changes height: a reply streaming in, finishing (its buttons and figures
//! appear), or its code being highlighted.
//!
//! The list runs `column-reverse`, so its scroll position counts from the
//! end: anything growing below someone reading further up pushes the text
//! they read upwards. A `ResizeObserver` on the last message hears every
//! change of its height after layout and before paint, and the list scrolls
//! back by as much in the same frame, so the reader sees nothing move.

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, ResizeObserver};

/// The watched message and what is known of it.
struct Watched {
    message: Element,
    height: f64,
    /// The part of a pixel not yet scrolled (the list scrolls in whole
    /// pixels, heights are fractional).
    carry: f64,
}

/// Owns the observer on the shown branch's last message; dropping it stops
/// the observer.
pub struct ReadingPlace {
    observer: ResizeObserver,
    watched: Rc<RefCell<Option<Watched>>>,
    _on_resize: Closure<dyn FnMut()>,
}

impl ReadingPlace {
    /// A keeper for `list`, the scrolling message list; it watches nothing
    /// until [`ReadingPlace::watch`] names a message.
    pub fn new(list: Element) -> Option<Self> {
        let watched: Rc<RefCell<Option<Watched>>> = Rc::default();
        let on_resize = {
            let watched = watched.clone();
            Closure::<dyn FnMut()>::new(move || {
                let mut watched = watched.borrow_mut();
                let Some(watched) = watched.as_mut() else {
                    return;
                };
                let height = watched.message.get_bounding_client_rect().height();
                let grown = height - watched.height;
                watched.height = height;
                // At the end (0) the list shows the newest text anyway.
                if grown == 0.0 || list.scroll_top() == 0 {
                    watched.carry = 0.0;
                    return;
                }
                let owed = watched.carry + grown;
                let whole = owed.round();
                watched.carry = owed - whole;
                list.set_scroll_top(list.scroll_top() - whole as i32);
            })
        };
        let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
        Some(Self {
            observer,
            watched,
            _on_resize: on_resize,
        })
    }

    /// Watches `message` from now on (a no-op when it is already watched).
    pub fn watch(&self, message: Option<Element>) {
        let mut watched = self.watched.borrow_mut();
        if watched.as_ref().map(|w| &w.message) == message.as_ref() {
            return;
        }
        if let Some(old) = watched.take() {
            self.observer.unobserve(&old.message);
        }
        if let Some(message) = message {
            self.observer.observe(&message);
            *watched = Some(Watched {
                height: message.get_bounding_client_rect().height(),
                message,
                carry: 0.0,
            });
        }
    }
}

impl Drop for ReadingPlace {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}
