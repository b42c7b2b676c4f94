//! Dialogue graph analysis: which nodes the entry reaches, and which nodes can still reach an end.
//!
//! A conversation is sound when every node is reachable from the entry and every node can reach
//! an ending: then no cycle traps the player, whatever they pick. (Conditions are ignored here;
//! the rule that every choice list keeps one unconditional choice covers them.)

/// A dialogue graph reduced to what the analysis needs: node `i` jumps to `edges[i]`, and
/// `ends[i]` says whether it can end the conversation directly.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Successors of each node.
    pub edges: Vec<Vec<usize>>,
    /// Whether each node can end the conversation directly.
    pub ends: Vec<bool>,
}

/// What the analysis found, per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Reachable from the entry.
    pub reachable: Vec<bool>,
    /// Some path from here ends the conversation.
    pub can_end: Vec<bool>,
}

impl Graph {
    /// Analyses the graph from `entry` in O(nodes + edges).
    pub fn analyze(&self, entry: Option<usize>) -> Verdict {
        let n = self.edges.len();
        let mut reachable = vec![false; n];
        let mut stack = Vec::new();
        if let Some(e) = entry.filter(|&e| e < n) {
            reachable[e] = true;
            stack.push(e);
        }
        while let Some(i) = stack.pop() {
            for &j in &self.edges[i] {
                if j < n && !reachable[j] {
                    reachable[j] = true;
                    stack.push(j);
                }
            }
        }

        // Walk the reversed edges back from every node that can end.
        let mut preds = vec![Vec::new(); n];
        for (i, succ) in self.edges.iter().enumerate() {
            for &j in succ {
                if j < n {
                    preds[j].push(i);
                }
            }
        }
        let mut can_end = self.ends.clone();
        can_end.resize(n, false);
        let mut stack: Vec<usize> = (0..n).filter(|&i| can_end[i]).collect();
        while let Some(j) = stack.pop() {
            for &i in &preds[j] {
                if !can_end[i] {
                    can_end[i] = true;
                    stack.push(i);
                }
            }
        }
        Verdict { reachable, can_end }
    }
}
