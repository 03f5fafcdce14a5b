//! The Import dialog: pick a file (an Arbor archive or backup, ChatGPT's
//! export, Open WebUI, LibreChat, OpenAI or Anthropic messages), watch it
//! upload, then read what was imported and what was skipped, and why.

use crate::components::modal::Modal;
use crate::domain::transfer::{human_bytes, ImportSummary};
use crate::state::conversation_list::use_conversation_list;
use leptos::prelude::*;

/// Where an import is.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportStage {
    /// No file chosen yet.
    Choosing,
    /// Sending the file: bytes sent of the total.
    Uploading {
        file: String,
        sent: u64,
        total: u64,
    },
    /// Sent; the server is reading and storing it.
    Reading {
        file: String,
    },
    Done(ImportSummary),
    Failed(String),
}

/// The "Import…" button and its dialog.
#[component]
pub fn ImportButton() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <button class="import-button" on:click=move |_| open.set(true)>"Import…"</button>
        <Show when=move || open.get()>
            <ImportDialog on_close=Callback::new(move |()| open.set(false))/>
        </Show>
    }
    .into_any()
}

#[component]
fn ImportDialog(#[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let stage = RwSignal::new(ImportStage::Choosing);
    let busy = move || {
        matches!(
            stage.get(),
            ImportStage::Uploading { .. } | ImportStage::Reading { .. }
        )
    };
    let list = use_conversation_list();
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
            let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else {
                return;
            };
            leptos::task::spawn_local(async move {
                upload::run(file, stage).await;
                if matches!(stage.get_untracked(), ImportStage::Done(_)) {
                    list.refresh();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, list);
    };
    view! {
        <Modal title="Import conversations" class="import-dialog" on_close>
            <p class="muted">
                "An Arbor archive or backup (.json.gz), ChatGPT's data export (the .zip or its \
                 conversations.json), an Open WebUI or LibreChat export, or OpenAI or Anthropic \
                 messages (.json). Every branch is kept."
            </p>
            <label class="import-file">
                "File to import "
                <input
                    type="file"
                    accept=".json,.gz,.zip,application/json,application/gzip,application/zip"
                    disabled=busy
                    on:change=on_change
                />
            </label>
            {move || match stage.get() {
                ImportStage::Choosing => ().into_any(),
                ImportStage::Uploading { file, sent, total } => view! {
                    <div class="import-progress" role="status">
                        <progress max=total.max(1).to_string() value=sent.to_string()></progress>
                        <span>{format!("Uploading {file}: {} of {}", human_bytes(sent), human_bytes(total))}</span>
                    </div>
                }
                .into_any(),
                ImportStage::Reading { file } => view! {
                    <div class="import-progress" role="status">
                        <progress></progress>
                        <span>{format!("Reading {file}…")}</span>
                    </div>
                }
                .into_any(),
                ImportStage::Failed(message) => view! {
                    <p class="error import-error" role="alert">{message}</p>
                }
                .into_any(),
                ImportStage::Done(summary) => view! { <ImportReport summary on_open=on_close/> }.into_any(),
            }}
        </Modal>
    }
    .into_any()
}

/// What an import did: counts, each conversation (a link), each skip and why.
/// `on_open` runs when one of the conversations is opened.
#[component]
fn ImportReport(summary: ImportSummary, on_open: Callback<()>) -> impl IntoView {
    let headline = summary.headline();
    let read_as = format!("{} read as: {}", summary.file, summary.format);
    view! {
        <div class="import-summary" role="status">
            <p class="import-headline">{headline}</p>
            <p class="muted">{read_as}</p>
            <ul class="imported-conversations">
                {summary
                    .imported
                    .into_iter()
                    .map(|c| {
                        let title = crate::domain::model::display_title(&c.title).to_string();
                        let detail = format!(
                            "{} messages, {} branches{}",
                            c.messages,
                            c.branches,
                            if c.new_ids { " (already here: imported as a copy)" } else { "" }
                        );
                        view! {
                            <li>
                                <a href=format!("/c/{}", c.id) on:click=move |_| on_open.run(())>{title}</a>
                                " "
                                <span class="muted">{detail}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {(!summary.skipped.is_empty()).then(|| view! {
                <h3>"Skipped"</h3>
                <ul class="skipped-conversations">
                    {summary
                        .skipped
                        .into_iter()
                        .map(|s| view! { <li><strong>{s.conversation}</strong>": "{s.reason}</li> })
                        .collect_view()}
                </ul>
            })}
        </div>
    }
    .into_any()
}

/// The upload, with progress, through `XMLHttpRequest` (fetch cannot
/// report an upload's progress).
#[cfg(feature = "hydrate")]
mod upload {
    use super::ImportStage;
    use crate::domain::errors::AppError;
    use crate::domain::transfer::{oversized, ImportSummary, IMPORT_URL};
    use crate::functions::transfer::import_limit;
    use futures::channel::oneshot;
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    pub async fn run(file: web_sys::File, stage: RwSignal<ImportStage>) {
        let name = file.name();
        let limit = match import_limit().await {
            Ok(limit) => limit,
            Err(error) => return stage.set(ImportStage::Failed(error.to_string())),
        };
        if let Some(problem) = oversized(&name, file.size() as u64, limit) {
            return stage.set(ImportStage::Failed(problem));
        }
        stage.set(ImportStage::Uploading {
            file: name.clone(),
            sent: 0,
            total: file.size() as u64,
        });
        stage.set(match send(&file, &name, stage).await {
            Ok(summary) => ImportStage::Done(summary),
            Err(message) => ImportStage::Failed(message),
        });
    }

    async fn send(
        file: &web_sys::File,
        name: &str,
        stage: RwSignal<ImportStage>,
    ) -> Result<ImportSummary, String> {
        let failed = |_| "The upload could not start.".to_string();
        let request = web_sys::XmlHttpRequest::new().map_err(failed)?;
        let url = format!("{IMPORT_URL}?file={}", js_sys::encode_uri_component(name));
        request.open("POST", &url).map_err(failed)?;
        let file_name = name.to_string();
        let on_progress =
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
                let (sent, total) = (ev.loaded() as u64, ev.total() as u64);
                stage.set(if sent >= total {
                    ImportStage::Reading {
                        file: file_name.clone(),
                    }
                } else {
                    ImportStage::Uploading {
                        file: file_name.clone(),
                        sent,
                        total,
                    }
                });
            });
        if let Ok(upload) = request.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let (done, finished) = oneshot::channel::<()>();
        let done = std::cell::RefCell::new(Some(done));
        let on_end = Closure::<dyn FnMut()>::new(move || {
            if let Some(done) = done.borrow_mut().take() {
                _ = done.send(());
            }
        });
        request.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        request.send_with_opt_blob(Some(file)).map_err(failed)?;
        _ = finished.await;
        let status = request.status().unwrap_or(0);
        let body = request.response_text().ok().flatten().unwrap_or_default();
        match status {
            200 => serde_json::from_str(&body)
                .map_err(|_| "The server's answer could not be read.".to_string()),
            0 => Err(format!(
                "{name} could not be uploaded: the connection failed."
            )),
            _ => Err(serde_json::from_str::<AppError>(&body)
                .map(|e| e.to_string())
                .unwrap_or_else(|_| format!("The import failed (HTTP {status})."))),
        }
    }
}
