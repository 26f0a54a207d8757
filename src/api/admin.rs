//! `claimscrub.v1.RuleAdmin` over gRPC: authenticates, runs the operation of
//! [`crate::admin::Admin`] on a blocking thread (store I/O, compiles and test cases never
//! run on the async runtime), and maps its errors to statuses through
//! [`super::status::admin_status`].

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::status::admin_status;
use crate::admin::auth::Role;
use crate::admin::edit::{Action, Change};
use crate::admin::{Admin, AdminError, rfc3339};
use crate::proto::v1::{self as pb, rule_admin_server::RuleAdmin};

/// The gRPC face of the admin operations.
pub struct AdminService {
    admin: Arc<Admin>,
}

impl AdminService {
    /// Serves `admin`.
    pub fn new(admin: Arc<Admin>) -> Self {
        Self { admin }
    }

    /// Authenticates the caller for `needed` and runs `op` with its name on a blocking
    /// thread.
    async fn run<T: Send + 'static>(
        &self,
        metadata: &MetadataMap,
        needed: Role,
        action: &'static str,
        rule_id: &str,
        op: impl FnOnce(&Admin, &str) -> Result<T, AdminError> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let admin = self.admin.clone();
        let metadata = metadata.clone();
        let rule_id = rule_id.to_string();
        tokio::task::spawn_blocking(move || {
            let who = admin.admit(&metadata, needed, action, &rule_id)?;
            op(&admin, &who)
        })
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))
        .and_then(|r| r)
        .map(Response::new)
        .map_err(|e| admin_status(&e))
    }

    async fn action(
        &self,
        request: Request<pb::RuleActionRequest>,
        action: Action,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let comment = request.get_ref().comment.clone();
        let rule = id.clone();
        self.run(
            request.metadata(),
            Role::Editor,
            action.rpc(),
            &id,
            move |a, who| a.act(who, &rule, action, comment),
        )
        .await
    }
}

#[tonic::async_trait]
impl RuleAdmin for AdminService {
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let admin = self.admin.clone();
        let metadata = request.metadata().clone();
        tokio::task::spawn_blocking(move || admin.principal(&metadata, Role::Viewer, "WhoAmI", ""))
            .await
            .map_err(|e| AdminError::Internal(e.to_string()))
            .and_then(|r| r)
            .map(|p| {
                Response::new(pb::WhoAmIResponse {
                    name: p.name,
                    role: p.role.as_str().to_string(),
                })
            })
            .map_err(|e| admin_status(&e))
    }

    async fn list_rules(
        &self,
        request: Request<pb::ListRulesRequest>,
    ) -> Result<Response<pb::ListRulesResponse>, Status> {
        self.run(
            request.metadata(),
            Role::Viewer,
            "ListRules",
            "",
            |a, who| a.list_rules(who),
        )
        .await
    }

    async fn get_rule(
        &self,
        request: Request<pb::GetRuleRequest>,
    ) -> Result<Response<pb::GetRuleResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let rule = id.clone();
        self.run(
            request.metadata(),
            Role::Viewer,
            "GetRule",
            &id,
            move |a, who| a.get_rule(who, &rule),
        )
        .await
    }

    async fn get_ruleset_status(
        &self,
        request: Request<pb::GetRulesetStatusRequest>,
    ) -> Result<Response<pb::GetRulesetStatusResponse>, Status> {
        self.run(
            request.metadata(),
            Role::Viewer,
            "GetRulesetStatus",
            "",
            |a, who| Ok(a.ruleset_status(who)),
        )
        .await
    }

    async fn validate_rule(
        &self,
        request: Request<pb::ValidateRuleRequest>,
    ) -> Result<Response<pb::ValidateRuleResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        self.run(
            &metadata,
            Role::Editor,
            "ValidateRule",
            "",
            move |a, who| a.validate(who, &req),
        )
        .await
    }

    async fn put_rule(
        &self,
        request: Request<pb::PutRuleRequest>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let id = req.id.trim().to_string();
        let change = Change {
            id: id.clone(),
            source: req.source,
            tests: req.tests,
            comment: req.comment,
            action: "put",
        };
        let expected = Some(req.expected_version);
        self.run(&metadata, Role::Editor, "PutRule", &id, move |a, who| {
            a.put(who, "PutRule", change, expected)
        })
        .await
    }

    async fn rollback_rule(
        &self,
        request: Request<pb::RollbackRuleRequest>,
    ) -> Result<Response<pb::PutRuleResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let id = req.id.trim().to_string();
        let rule = id.clone();
        self.run(
            &metadata,
            Role::Editor,
            "RollbackRule",
            &id,
            move |a, who| a.rollback(who, &rule, req.version.trim(), req.comment),
        )
        .await
    }

    async fn disable_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, Action::Disable).await
    }

    async fn enable_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, Action::Enable).await
    }

    async fn delete_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, Action::Delete).await
    }

    async fn shadow_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, Action::Shadow).await
    }

    async fn activate_rule(
        &self,
        request: Request<pb::RuleActionRequest>,
    ) -> Result<Response<pb::RuleActionResponse>, Status> {
        self.action(request, Action::Activate).await
    }

    async fn get_rule_version(
        &self,
        request: Request<pb::GetRuleVersionRequest>,
    ) -> Result<Response<pb::GetRuleVersionResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let version = request.get_ref().version.clone();
        let rule = id.clone();
        self.run(
            request.metadata(),
            Role::Viewer,
            "GetRuleVersion",
            &id,
            move |a, who| a.version(who, &rule, &version),
        )
        .await
    }

    async fn get_rule_history(
        &self,
        request: Request<pb::GetRuleHistoryRequest>,
    ) -> Result<Response<pb::GetRuleHistoryResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        let rule = id.clone();
        self.run(
            request.metadata(),
            Role::Viewer,
            "GetRuleHistory",
            &id,
            move |a, who| a.history(who, &rule),
        )
        .await
    }

    type WatchRuleEventsStream = Pin<Box<dyn Stream<Item = Result<pb::RuleEvent, Status>> + Send>>;

    async fn watch_rule_events(
        &self,
        request: Request<pb::WatchRuleEventsRequest>,
    ) -> Result<Response<Self::WatchRuleEventsStream>, Status> {
        let receiver = self
            .run(
                request.metadata(),
                Role::Viewer,
                "WatchRuleEvents",
                "",
                |a, who| {
                    a.done(who, "WatchRuleEvents", "", "ok");
                    Ok(a.registry().subscribe())
                },
            )
            .await?
            .into_inner();
        let events = tokio_stream::wrappers::BroadcastStream::new(receiver);
        let stream = futures::StreamExt::filter_map(events, |e| async move {
            e.ok().map(|e| {
                Ok(pb::RuleEvent {
                    kind: e.kind.into(),
                    rule_id: e.rule_id,
                    file: e.file,
                    version: e.version,
                    message: e.message,
                    ruleset_version: e.ruleset_version,
                    time: rfc3339(e.time),
                })
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
