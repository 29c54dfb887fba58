//! Image string → command, from the `[images]` table of the config file.

use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageCommand {
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct ImageCatalog {
    images: HashMap<String, ImageCommand>,
}

impl ImageCatalog {
    pub fn new(images: HashMap<String, ImageCommand>) -> Self {
        ImageCatalog { images }
    }

    pub fn get(&self, image: &str) -> Option<&ImageCommand> {
        self.images.get(image)
    }

    /// The environment of an instance: the image's env, overridden by the model's.
    pub fn instance_env(
        image: &ImageCommand,
        model_env: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut env = image.env.clone();
        env.extend(model_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }
}
