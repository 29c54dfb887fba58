//! How a Model's `Image` runs: as a process from the config's `[images]` table, else as a
//! container when the container backend is on (`[containers]`), else not at all.

use std::collections::{BTreeMap, HashMap};

use guardrail_backend::{Program, Resources};
use guardrail_core::instance_types::{resources_of, InstanceResources};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageCommand {
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct ImageCatalog {
    images: HashMap<String, ImageCommand>,
    /// `Some` when `[containers]` is configured: the operator's instance-type overrides.
    containers: Option<BTreeMap<String, InstanceResources>>,
}

impl ImageCatalog {
    /// Process images only.
    pub fn new(images: HashMap<String, ImageCommand>) -> Self {
        ImageCatalog {
            images,
            containers: None,
        }
    }

    /// Process images, and every other image as a container; `instance_types` overrides the
    /// built-in `ml.*` table.
    pub fn with_containers(
        images: HashMap<String, ImageCommand>,
        instance_types: BTreeMap<String, InstanceResources>,
    ) -> Self {
        ImageCatalog {
            images,
            containers: Some(instance_types),
        }
    }

    pub fn containers_enabled(&self) -> bool {
        self.containers.is_some()
    }

    /// Whether `image` can run here at all.
    pub fn runs(&self, image: &str) -> bool {
        self.images.contains_key(image) || self.containers.is_some()
    }

    /// What an instance of `image` runs and its environment: the `[images]` entry's env (for a
    /// process image), overridden by the model's.
    pub fn program(
        &self,
        image: &str,
        model_env: &BTreeMap<String, String>,
    ) -> Option<(Program, BTreeMap<String, String>)> {
        if let Some(cmd) = self.images.get(image) {
            let mut env = cmd.env.clone();
            env.extend(model_env.iter().map(|(k, v)| (k.clone(), v.clone())));
            let program = Program::Process {
                command: cmd.command.clone(),
            };
            return Some((program, env));
        }
        self.containers.as_ref()?;
        let program = Program::Container {
            image: image.to_string(),
        };
        Some((program, model_env.clone()))
    }

    /// The limits of a container of `instance_type` (none for processes or unknown types).
    pub fn resources(&self, instance_type: Option<&str>) -> Option<Resources> {
        let overrides = self.containers.as_ref()?;
        let r = resources_of(instance_type?, overrides)?;
        Some(Resources {
            vcpus: r.vcpus,
            memory_bytes: r.memory_mib.saturating_mul(1 << 20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(containers: bool) -> ImageCatalog {
        let images = HashMap::from([(
            "guardrail/model:v1".to_string(),
            ImageCommand {
                command: vec!["server".into()],
                env: BTreeMap::from([
                    ("A".to_string(), "image".to_string()),
                    ("B".to_string(), "image".to_string()),
                ]),
            },
        )]);
        if containers {
            ImageCatalog::with_containers(images, BTreeMap::new())
        } else {
            ImageCatalog::new(images)
        }
    }

    #[test]
    fn listed_images_run_as_processes_with_the_model_env_on_top() {
        let model_env = BTreeMap::from([("B".to_string(), "model".to_string())]);
        for containers in [false, true] {
            let (program, env) = catalog(containers)
                .program("guardrail/model:v1", &model_env)
                .unwrap();
            assert_eq!(
                program,
                Program::Process {
                    command: vec!["server".into()]
                }
            );
            assert_eq!(env["A"], "image");
            assert_eq!(env["B"], "model");
        }
    }

    #[test]
    fn other_images_run_as_containers_only_when_containers_are_on() {
        let off = catalog(false);
        assert!(!off.runs("my/model:1"));
        assert!(off.program("my/model:1", &BTreeMap::new()).is_none());
        assert!(off.resources(Some("ml.m5.large")).is_none());
        let on = catalog(true);
        assert!(on.runs("my/model:1"));
        let (program, _) = on.program("my/model:1", &BTreeMap::new()).unwrap();
        assert_eq!(
            program,
            Program::Container {
                image: "my/model:1".into()
            }
        );
        let r = on.resources(Some("ml.m5.large")).unwrap();
        assert_eq!((r.vcpus, r.memory_bytes), (2.0, 8 << 30));
        assert!(on.resources(None).is_none());
    }
}
