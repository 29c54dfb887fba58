//! What an `ml.*` instance type means on this machine: the vCPUs and memory a container of that
//! type is limited to (docs/containers.md). SageMaker's types follow EC2's: the size names the
//! vCPUs (`large` = 2, `xlarge` = 4, `Nxlarge` = 4·N) and the family the memory per vCPU. The
//! operator can override any type in the config file.

use std::collections::BTreeMap;

/// CPU and memory of one instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceResources {
    pub vcpus: f64,
    pub memory_mib: u64,
}

/// GiB of memory per vCPU, by family (longest prefix wins). Irregular sizes are in `EXACT`.
const FAMILIES: &[(&str, f64)] = &[
    ("c", 2.0),
    ("m", 4.0),
    ("r", 8.0),
    ("t", 4.0),
    ("x1", 15.25),
    ("z1d", 8.0),
    ("g4dn", 4.0),
    ("g5", 4.0),
    ("g6", 4.0),
    ("p2", 15.25),
    ("p3", 7.625),
    ("p4d", 12.0),
    ("p5", 20.0),
    ("inf1", 2.0),
    ("inf2", 4.0),
    ("trn1", 4.0),
];

/// Types whose shape the family rule gets wrong: (type, vCPUs, memory MiB).
const EXACT: &[(&str, f64, u64)] = &[
    ("ml.t2.medium", 2.0, 4096),
    ("ml.t3.medium", 2.0, 4096),
    ("ml.m4.16xlarge", 64.0, 262_144),
    ("ml.g4dn.12xlarge", 48.0, 196_608),
];

/// The resources of `instance_type`: the operator's override, else the built-in rule; `None`
/// for a name that is not an `ml.<family>.<size>` type (then no limits are applied).
pub fn resources_of(
    instance_type: &str,
    overrides: &BTreeMap<String, InstanceResources>,
) -> Option<InstanceResources> {
    if let Some(r) = overrides.get(instance_type) {
        return Some(*r);
    }
    if let Some((_, vcpus, memory_mib)) = EXACT.iter().find(|(t, ..)| *t == instance_type) {
        return Some(InstanceResources {
            vcpus: *vcpus,
            memory_mib: *memory_mib,
        });
    }
    let mut parts = instance_type.split('.');
    let (Some("ml"), Some(family), Some(size), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let vcpus = vcpus_of_size(size)?;
    let gib_per_vcpu = FAMILIES
        .iter()
        .filter(|(prefix, _)| family.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, ratio)| *ratio)?;
    Some(InstanceResources {
        vcpus,
        memory_mib: (vcpus * gib_per_vcpu * 1024.0) as u64,
    })
}

fn vcpus_of_size(size: &str) -> Option<f64> {
    match size {
        "medium" | "large" => Some(2.0),
        "xlarge" => Some(4.0),
        _ => {
            let n: u32 = size.strip_suffix("xlarge")?.parse().ok()?;
            (n > 0).then(|| 4.0 * f64::from(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(t: &str) -> Option<(f64, u64)> {
        resources_of(t, &BTreeMap::new()).map(|r| (r.vcpus, r.memory_mib))
    }

    #[test]
    fn common_types_match_their_published_shapes() {
        assert_eq!(of("ml.m5.large"), Some((2.0, 8192)));
        assert_eq!(of("ml.m5.xlarge"), Some((4.0, 16384)));
        assert_eq!(of("ml.c5.2xlarge"), Some((8.0, 16384)));
        assert_eq!(of("ml.r5.large"), Some((2.0, 16384)));
        assert_eq!(of("ml.t2.medium"), Some((2.0, 4096)));
        assert_eq!(of("ml.g4dn.xlarge"), Some((4.0, 16384)));
        assert_eq!(of("ml.g5.48xlarge"), Some((192.0, 786_432)));
        assert_eq!(of("ml.c6i.large"), Some((2.0, 4096)));
        assert_eq!(of("ml.inf1.xlarge"), Some((4.0, 8192)));
    }

    #[test]
    fn unknown_shapes_get_no_limits() {
        for t in [
            "m5.large",
            "ml.m5",
            "ml.m5.large.x",
            "ml.zz9.large",
            "ml.m5.0xlarge",
            "",
        ] {
            assert_eq!(of(t), None, "{t}");
        }
    }

    #[test]
    fn the_operator_overrides_any_type() {
        let mut o = BTreeMap::new();
        let small = InstanceResources {
            vcpus: 0.5,
            memory_mib: 512,
        };
        o.insert("ml.m5.large".to_string(), small);
        o.insert("ml.custom.thing".to_string(), small);
        assert_eq!(resources_of("ml.m5.large", &o), Some(small));
        assert_eq!(resources_of("ml.custom.thing", &o), Some(small));
    }
}
