//! What the game provides to exported scripts: the Yarn functions conditions call and the
//! commands effects issue.

/// A Yarn function that exported conditions call; the game registers it with its Yarn runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YarnFunction {
    /// The name scripts call it by.
    pub name: &'static str,
    /// Yarn types of its parameters, in order.
    pub parameters: &'static [&'static str],
    /// Yarn type of its result.
    pub returns: &'static str,
    /// What it must answer.
    pub meaning: &'static str,
}

/// Every function exported conditions call.
pub const FUNCTIONS: [YarnFunction; 6] = [
    YarnFunction {
        name: "friendship",
        parameters: &["string"],
        returns: "number",
        meaning: "friendship points (0–1000) with the character of this id",
    },
    YarnFunction {
        name: "item_count",
        parameters: &["string"],
        returns: "number",
        meaning: "how many of the item with this id the player holds",
    },
    YarnFunction {
        name: "season",
        parameters: &[],
        returns: "string",
        meaning: "the season: `spring`, `summer`, `autumn` or `winter`",
    },
    YarnFunction {
        name: "time_of_day",
        parameters: &[],
        returns: "string",
        meaning: "the slot of the day: `morning`, `midday`, `afternoon`, `evening` or `night`",
    },
    YarnFunction {
        name: "quest_active",
        parameters: &["string"],
        returns: "bool",
        meaning: "whether the quest with this id has started and is not completed",
    },
    YarnFunction {
        name: "quest_done",
        parameters: &["string"],
        returns: "bool",
        meaning: "whether the quest with this id is completed",
    },
];

/// A custom Yarn command that exported effects issue; the game handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YarnCommand {
    /// The command's name, its first word.
    pub name: &'static str,
    /// Its parameters, in order.
    pub parameters: &'static [&'static str],
    /// What the game does.
    pub meaning: &'static str,
}

/// Every command exported effects issue. Flags are not among them: they are Yarn variables.
pub const COMMANDS: [YarnCommand; 6] = [
    YarnCommand {
        name: "give_item",
        parameters: &["item id", "count"],
        meaning: "the player receives items",
    },
    YarnCommand {
        name: "take_item",
        parameters: &["item id", "count"],
        meaning: "items are taken from the player",
    },
    YarnCommand {
        name: "give_gold",
        parameters: &["amount"],
        meaning: "the player receives gold",
    },
    YarnCommand {
        name: "friendship",
        parameters: &["character id", "points"],
        meaning: "friendship with the character changes by points (may be negative)",
    },
    YarnCommand {
        name: "start_quest",
        parameters: &["quest id"],
        meaning: "the quest starts",
    },
    YarnCommand {
        name: "complete_quest",
        parameters: &["quest id"],
        meaning: "the quest is completed (the game applies its rewards)",
    },
];
