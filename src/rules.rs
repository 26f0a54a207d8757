//! Edit and reimbursement rules: what a rule file declares, where rule files come from, their compiled form,
//! the applicability index and a rule set snapshot.
//!
//! A rule is one `.rhai` file: a `let rule = #{ ... };` metadata map and a `fn check(claim)`
//! that returns findings (an edit), or for a payer contract (`kind: "reimbursement"`) declared
//! `terms` or a `fn price(claim, line, medicare)` that returns a line's contract price. Optional test cases sit beside it in `<name>.tests.json`.
//! `rules/README.md` is the authors' guide.

pub mod cases;
pub mod compile;
pub mod error;
pub mod index;
pub mod meta;
pub mod set;
pub mod source;
pub mod terms;
pub mod trial;

pub use cases::TestCase;
pub use compile::{CompiledRule, compile_rule};
pub use error::RuleLoadError;
pub use index::RuleIndex;
pub use meta::{AppliesTo, RuleKind, RuleMeta};
pub use set::RuleSet;
pub use source::{FsSource, MemorySource, RuleFile, RuleSource};
