//! Text fields that keep what was typed before the page's code arrived.
//!
//! The server renders the message box and the search box, and a person
//! can type into them before the WASM app has taken the page over. A field
//! driven by `prop:value` would be set to its signal's empty start at that
//! moment, erasing the text. A field bound with [`keep_typed_text`]
//! instead adopts the text it already holds, and is written to only when
//! its signal changes to something else, so neither the text nor the caret
//! moves.

use leptos::html::ElementType;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// Keeps the text field `field` and the signal `text` in step. When the
/// field first appears, text already in it (typed before hydration) wins:
/// it goes into `text` and to `adopted`, which can act on it (search for
/// it, say). After that, each new value of `text` is written into the
/// field if the field does not already show it. The field's own `input`
/// handler still sets `text` as the person types.
pub fn keep_typed_text<E>(
    field: NodeRef<E>,
    text: RwSignal<String>,
    adopted: impl Fn(String) + 'static,
) where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    let first = StoredValue::new(true);
    Effect::new(move |_| {
        let wanted = text.get();
        let Some(element) = field.get() else {
            return;
        };
        let element: &leptos::wasm_bindgen::JsValue = element.as_ref();
        let shown = value_of(element);
        if first.get_value() {
            first.set_value(false);
            if !shown.is_empty() && shown != wanted {
                text.set(shown.clone());
                adopted(shown);
                return;
            }
        }
        if shown != wanted {
            set_value_of(element, &wanted);
        }
    });
}

/// The `value` of an `<input>` or `<textarea>`.
#[cfg(feature = "hydrate")]
fn value_of(element: &leptos::wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(element, &"value".into())
        .ok()
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

#[cfg(feature = "hydrate")]
fn set_value_of(element: &leptos::wasm_bindgen::JsValue, text: &str) {
    _ = js_sys::Reflect::set(element, &"value".into(), &text.into());
}

// The server renders the fields and runs no effects; these never run there.
#[cfg(not(feature = "hydrate"))]
fn value_of(_: &leptos::wasm_bindgen::JsValue) -> String {
    String::new()
}

#[cfg(not(feature = "hydrate"))]
fn set_value_of(_: &leptos::wasm_bindgen::JsValue, _: &str) {}
