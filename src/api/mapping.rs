//! `spec.topicMapping` of a KafkaRestore: a list of `{sourceTopic, targetTopic}`, as
//! strimzi-backup-operator writes it. The map form `{source: target}` of this
//! operator's first releases is still read (objects stored before the schema changed,
//! manifests in Git), so the rest of the code sees the list only. No IO.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A topic restored under another name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicMapping {
    /// The topic's name in the backup.
    pub source_topic: String,
    /// The topic's name in the target cluster.
    pub target_topic: String,
}

/// The topic mappings of a restore, in the order given.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct TopicMappings(pub Vec<TopicMapping>);

impl TopicMappings {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &TopicMapping> {
        self.0.iter()
    }

    /// Source topic to target topic. A source listed twice keeps its last target;
    /// validation refuses that.
    pub fn as_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|m| (m.source_topic.clone(), m.target_topic.clone()))
            .collect()
    }
}

impl From<Vec<TopicMapping>> for TopicMappings {
    fn from(list: Vec<TopicMapping>) -> Self {
        Self(list)
    }
}

impl<'de> Deserialize<'de> for TopicMappings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<TopicMapping>),
            Map(BTreeMap<String, String>),
        }
        match Form::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "write topicMapping as a list of {sourceTopic, targetTopic}, e.g. [{sourceTopic: orders, targetTopic: orders-restored}]",
            )
        })? {
            Form::List(list) => Ok(Self(list)),
            Form::Map(map) => Ok(Self(
                map.into_iter()
                    .map(|(source_topic, target_topic)| TopicMapping {
                        source_topic,
                        target_topic,
                    })
                    .collect(),
            )),
        }
    }
}

/// Rewrites the map form of `topicMapping` in a raw KafkaRestore spec as the list
/// form; returns a warning naming the change, or `None` when there was nothing to do.
pub fn convert_map_form(spec: &mut Value) -> Option<String> {
    let mapping = spec.get_mut("topicMapping")?;
    let Value::Object(map) = mapping else {
        return None;
    };
    let list: Vec<Value> = map
        .iter()
        .map(|(source, target)| serde_json::json!({"sourceTopic": source, "targetTopic": target}))
        .collect();
    *mapping = Value::Array(list);
    Some(
        "spec.topicMapping: the map form {source: target} is deprecated and was rewritten as a list of {sourceTopic, targetTopic}; write it so in your manifest"
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_list_form_and_the_map_form_read_the_same() {
        let list: TopicMappings = serde_json::from_value(json!([
            {"sourceTopic": "orders", "targetTopic": "orders-restored"},
            {"sourceTopic": "payments", "targetTopic": "payments-restored"}
        ]))
        .unwrap();
        let map: TopicMappings = serde_json::from_value(json!({
            "orders": "orders-restored",
            "payments": "payments-restored"
        }))
        .unwrap();
        assert_eq!(list, map);
        assert_eq!(list.as_map()["orders"], "orders-restored");
        assert_eq!(
            serde_json::to_value(&map).unwrap(),
            json!([
                {"sourceTopic": "orders", "targetTopic": "orders-restored"},
                {"sourceTopic": "payments", "targetTopic": "payments-restored"}
            ]),
            "written as a list"
        );
    }

    #[test]
    fn another_shape_is_refused_naming_the_list_form() {
        let error = serde_json::from_value::<TopicMappings>(json!("orders=x")).unwrap_err();
        assert!(error.to_string().contains("sourceTopic"), "{error}");
    }

    #[test]
    fn the_webhook_rewrites_the_map_form_and_leaves_the_list_alone() {
        let mut spec = json!({"topicMapping": {"orders": "orders-restored"}});
        let warning = convert_map_form(&mut spec).unwrap();
        assert!(warning.contains("sourceTopic"));
        assert_eq!(
            spec["topicMapping"],
            json!([{"sourceTopic": "orders", "targetTopic": "orders-restored"}])
        );
        assert_eq!(convert_map_form(&mut spec), None);
        assert_eq!(convert_map_form(&mut json!({})), None);
    }
}
