//! The conversation's own choices, changed through its actor so no reply
//! starts with stale ones: the system prompt, and the model, persona and
//! sampler settings.

use super::ConversationActor;
use app::domain::errors::AppError;
use app::domain::model::{ConversationSettings, EffectiveModel};

impl ConversationActor {
    /// Stores the system prompt later replies are sent with.
    pub(super) async fn set_system_prompt(&mut self, text: String) -> Result<(), AppError> {
        self.context.store.set_system_prompt(self.id, &text).await?;
        self.system_prompt = text;
        Ok(())
    }

    /// Stores the model, persona and sampler choices (already validated)
    /// and answers which model later replies come from.
    pub(super) async fn set_settings(
        &mut self,
        settings: ConversationSettings,
    ) -> Result<EffectiveModel, AppError> {
        self.context
            .store
            .set_generation_settings(self.id, &settings)
            .await?;
        self.settings = settings;
        Ok(self.context.catalog.effective_model(&self.settings))
    }
}
