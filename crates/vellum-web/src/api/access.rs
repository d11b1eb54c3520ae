//! Access rules on folders and pages, explanations, access reports,
//! groups and roles.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{AccessView, AppError, Code, Explanation, GroupView, Level, PageRequest};

use super::model::ListJson;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/access",
            class(RouteClass::Small, get(get_root_access).put(put_root_access)),
        )
        .route(
            "/access/",
            class(RouteClass::Small, get(get_root_access).put(put_root_access)),
        )
        .route(
            "/access/{*path}",
            class(RouteClass::Small, get(get_access).put(put_access)),
        )
        .route("/.sub/access/explain", class(RouteClass::Small, get(explain_root)))
        .route("/.sub/access/explain/{*path}", class(RouteClass::Small, get(explain)))
        .route("/access-report", class(RouteClass::Small, get(report)))
        .route("/groups", class(RouteClass::Small, get(list_groups).post(create_group)))
        .route(
            "/groups/{name}",
            class(RouteClass::Small, get(get_group).delete(delete_group)),
        )
        .route(
            "/groups/{name}/members/{username}",
            class(RouteClass::Small, put(add_member).delete(remove_member)),
        )
        .route("/roles", class(RouteClass::Small, get(list_roles).post(create_role)))
        .route(
            "/roles/{name}",
            class(RouteClass::Small, axum::routing::delete(delete_role)),
        )
}

/// One rule: who, and what they may do.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleJson {
    /// `user:NAME`, `group:NAME`, `role:NAME`, `authenticated` (every
    /// signed-in user) or `anyone` (signed in or not).
    pub principal: String,
    /// `none`, `read`, `comment`, `edit` or `manage`.
    #[schema(value_type = String)]
    pub level: Level,
}

/// A rule that reaches this folder or page from above.
#[derive(Debug, Serialize, ToSchema)]
pub struct InheritedRuleJson {
    /// The folder or page it is set on (`""`: the whole wiki).
    pub from: String,
    pub principal: String,
    #[schema(value_type = String)]
    pub level: Level,
}

/// The rules set directly on a folder or page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessJson {
    /// The folder or page path (`""`: the whole wiki).
    pub path: String,
    /// Whether the rules from above apply here too (false: a restricted
    /// sub-tree, where only the rules here and below count).
    pub inherit: bool,
    pub rules: Vec<RuleJson>,
    /// What applies here from above, after replacements (empty when it
    /// does not inherit).
    pub inherited: Vec<InheritedRuleJson>,
}

impl From<AccessView> for AccessJson {
    fn from(a: AccessView) -> Self {
        AccessJson {
            path: a.path.as_str().to_owned(),
            inherit: a.inherit,
            rules: a
                .rules
                .into_iter()
                .map(|r| RuleJson {
                    principal: r.principal,
                    level: r.level,
                })
                .collect(),
            inherited: a
                .inherited
                .into_iter()
                .map(|r| InheritedRuleJson {
                    from: r.from,
                    principal: r.rule.principal,
                    level: r.rule.level,
                })
                .collect(),
        }
    }
}

/// New rules for a folder or page (replacing the ones set there).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAccess {
    /// Defaults to true.
    pub inherit: Option<bool>,
    pub rules: Vec<RuleJson>,
}

/// One step of an explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainStepJson {
    /// The folder or page the step is at (`""`: the whole wiki).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `rule`, `stops_inheriting` or `administrator`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub level: Option<Level>,
}

/// A user's level at a path and the rules that decided it, from the root
/// down: the level is the highest of the rules still standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainJson {
    pub user: String,
    pub path: String,
    #[schema(value_type = String)]
    pub level: Level,
    pub steps: Vec<ExplainStepJson>,
}

impl From<Explanation> for ExplainJson {
    fn from(e: Explanation) -> Self {
        use vellum_app::ExplainStep;
        ExplainJson {
            user: e.user,
            path: e.path.as_str().to_owned(),
            level: e.level,
            steps: e
                .steps
                .into_iter()
                .map(|s| match s {
                    ExplainStep::Rule { node, rule } => ExplainStepJson {
                        node: Some(node),
                        kind: "rule".into(),
                        principal: Some(rule.principal),
                        level: Some(rule.level),
                    },
                    ExplainStep::StopsInheriting { node } => ExplainStepJson {
                        node: Some(node),
                        kind: "stops_inheriting".into(),
                        principal: None,
                        level: None,
                    },
                    ExplainStep::Administrator => ExplainStepJson {
                        node: None,
                        kind: "administrator".into(),
                        principal: None,
                        level: Some(Level::Manage),
                    },
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    /// The user whose access to explain.
    pub user: String,
}

/// One scope of an access report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRowJson {
    /// A folder or page with rules of its own, standing for itself and what
    /// lies below it up to the next such (`""`: the rest of the wiki).
    pub scope: String,
    #[schema(value_type = String)]
    pub level: Level,
    /// Live pages in the scope.
    pub pages: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportJson {
    /// `user:NAME` or `group:NAME`.
    pub subject: String,
    pub scopes: Vec<ReportRowJson>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Report on this user…
    pub user: Option<String>,
    /// …or on this group (what the group itself is given).
    pub group: Option<String>,
    /// `json` (default): one row per scope. `csv`: one row per live page
    /// (`path,title,level`).
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupJson {
    pub id: i64,
    pub name: String,
    pub member_count: i64,
    /// User names, when one group is asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    pub created_at: String,
}

impl GroupJson {
    fn new(g: GroupView, with_members: bool) -> Self {
        GroupJson {
            id: g.id.0,
            name: g.name,
            member_count: g.member_count,
            members: with_members.then_some(g.members),
            created_at: rfc3339(g.created_at),
        }
    }
}

impl From<GroupView> for GroupJson {
    fn from(g: GroupView) -> Self {
        GroupJson::new(g, false)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberChange {
    /// False when nothing had to change (already a member, or not one).
    pub changed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleJson {
    pub name: String,
    pub builtin: bool,
    /// Accounts with this role.
    pub users: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// Lower-case letters, digits, `-` and `_`, starting with a letter.
    pub name: String,
}

fn rules_of(body: &PutAccess) -> Vec<(String, Level)> {
    body.rules.iter().map(|r| (r.principal.clone(), r.level)).collect()
}

/// The rules set on the whole wiki (administrators).
#[utoipa::path(get, path = "/api/v1/access", tag = "access",
    responses((status = 200, body = AccessJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn get_root_access(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<AccessJson>> {
    Ok(Json(s.app.access(&v.actor, "").await?.into()))
}

/// Replaces the rules on the whole wiki (administrators). The built-in
/// roles' site-wide levels are rules here.
#[utoipa::path(put, path = "/api/v1/access", tag = "access", request_body = PutAccess,
    responses((status = 200, body = AccessJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_principal`, `invalid_rules`")))]
pub(crate) async fn put_root_access(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<PutAccess>,
) -> ApiResult<Json<AccessJson>> {
    let rules = rules_of(&body);
    let view = s
        .app
        .set_access(&v.actor, "", body.inherit.unwrap_or(true), &rules)
        .await?;
    Ok(Json(view.into()))
}

/// The rules set directly on a folder or page, and what it inherits
/// (administrators, and those who manage it).
#[utoipa::path(get, path = "/api/v1/access/{path}", tag = "access",
    params(("path" = String, Path, description = "Folder or page path")),
    responses((status = 200, body = AccessJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`not_found`: nothing the caller may read"),
              (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn get_access(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<AccessJson>> {
    Ok(Json(s.app.access(&v.actor, &path).await?.into()))
}

/// Replaces the rules set directly on a folder or page. An empty list
/// with `inherit: true` removes them (the folder or page then has only
/// what it inherits).
#[utoipa::path(put, path = "/api/v1/access/{path}", tag = "access", request_body = PutAccess,
    params(("path" = String, Path)),
    responses((status = 200, body = AccessJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`, `invalid_principal`, `invalid_rules`")))]
pub(crate) async fn put_access(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<PutAccess>,
) -> ApiResult<Json<AccessJson>> {
    let rules = rules_of(&body);
    let view = s
        .app
        .set_access(&v.actor, &path, body.inherit.unwrap_or(true), &rules)
        .await?;
    Ok(Json(view.into()))
}

/// Why a user has their level on the whole wiki.
#[utoipa::path(get, path = "/api/v1/access/-/explain", tag = "access", params(ExplainParams),
    responses((status = 200, body = ExplainJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`user_not_found`"), (status = 400, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_text`")))]
pub(crate) async fn explain_root(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ExplainParams>,
) -> ApiResult<Json<ExplainJson>> {
    Ok(Json(s.app.explain(&v.actor, "", &q.user).await?.into()))
}

/// Why a user has the level they have at a folder or page: the rules that
/// count, from the root down (administrators, and those who manage it).
#[utoipa::path(get, path = "/api/v1/access/{path}/-/explain", tag = "access",
    params(("path" = String, Path), ExplainParams),
    responses((status = 200, body = ExplainJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "`user_not_found`, `not_found`"),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn explain(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExplainParams>,
) -> ApiResult<Json<ExplainJson>> {
    Ok(Json(s.app.explain(&v.actor, &path, &q.user).await?.into()))
}

/// What a user or group can read, edit or manage (administrators):
/// scope by scope as JSON, or page by page as CSV (`format=csv`).
#[utoipa::path(get, path = "/api/v1/access-report", tag = "access", params(ReportParams),
    responses((status = 200, body = ReportJson, description = "JSON, or `text/csv` with `format=csv`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_principal`"), (status = 400, body = ErrorBody)))]
pub(crate) async fn report(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let subject = match (&q.user, &q.group) {
        (Some(u), None) => format!("user:{u}"),
        (None, Some(g)) => format!("group:{g}"),
        _ => return Err(AppError::invalid(Code::InvalidQuery, "user", "Give either user=NAME or group=NAME.").into()),
    };
    match q.format.as_deref() {
        None | Some("json") => {
            let r = s.app.access_report(&v.actor, &subject).await?;
            Ok(Json(ReportJson {
                subject: r.subject,
                scopes: r
                    .rows
                    .into_iter()
                    .map(|row| ReportRowJson {
                        scope: row.scope,
                        level: row.level,
                        pages: row.pages,
                    })
                    .collect(),
            })
            .into_response())
        }
        Some("csv") => {
            // Fails early for those who may not see reports, and is itself
            // recorded: an export is a security event.
            s.app.access_report(&v.actor, &subject).await?;
            s.app
                .audit_export(&v.actor, &format!("access report {subject}"))
                .await?;
            let mut out = String::from("path,title,level\r\n");
            let mut req = PageRequest {
                cursor: None,
                limit: Some(500),
            };
            loop {
                let page = s.app.access_report_pages(&v.actor, &subject, &req).await?;
                for (path, title, level) in page.items {
                    out.push_str(&crate::fmt::csv_field(path.as_str()));
                    out.push(',');
                    out.push_str(&crate::fmt::csv_field(&title));
                    out.push(',');
                    out.push_str(level.as_str());
                    out.push_str("\r\n");
                }
                match page.next_cursor {
                    Some(c) => req.cursor = Some(c),
                    None => break,
                }
            }
            Ok(crate::fmt::csv_download(
                out,
                "attachment; filename=\"access-report.csv\"",
            ))
        }
        Some(_) => Err(AppError::invalid(Code::InvalidQuery, "format", "The format is json or csv.").into()),
    }
}

/// A CSV field (RFC 4180), with spreadsheet formulas defused.
/// Groups, by name (administrators).
#[utoipa::path(get, path = "/api/v1/groups", tag = "access", params(ListParams),
    responses((status = 200, body = ListJson<GroupJson>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_groups(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<GroupJson>>> {
    Ok(Json(ListJson::from(s.app.groups(&v.actor, &q.request()).await?)))
}

/// Makes a group (administrators).
#[utoipa::path(post, path = "/api/v1/groups", tag = "access", request_body = CreateGroup,
    responses((status = 201, body = GroupJson), (status = 409, body = ErrorBody, description = "`group_taken`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_group_name`")))]
pub(crate) async fn create_group(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<GroupJson>)> {
    let g = s.app.create_group(&v.actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(GroupJson::new(g, true))))
}

/// A group with its members (administrators).
#[utoipa::path(get, path = "/api/v1/groups/{name}", tag = "access", params(("name" = String, Path)),
    responses((status = 200, body = GroupJson), (status = 404, body = ErrorBody, description = "`group_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn get_group(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<GroupJson>> {
    Ok(Json(GroupJson::new(s.app.group(&v.actor, &name).await?, true)))
}

/// Deletes a group and every rule naming it (administrators).
#[utoipa::path(delete, path = "/api/v1/groups/{name}", tag = "access", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "`group_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn delete_group(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_group(&v.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a user to a group (administrators).
#[utoipa::path(put, path = "/api/v1/groups/{name}/members/{username}", tag = "access",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = MemberChange),
              (status = 404, body = ErrorBody, description = "`group_not_found`, `user_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_member(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberChange>> {
    let changed = s.app.add_member(&v.actor, &name, &username).await?;
    Ok(Json(MemberChange { changed }))
}

/// Takes a user out of a group (administrators).
#[utoipa::path(delete, path = "/api/v1/groups/{name}/members/{username}", tag = "access",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = MemberChange),
              (status = 404, body = ErrorBody, description = "`group_not_found`, `user_not_found`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<Json<MemberChange>> {
    let changed = s.app.remove_member(&v.actor, &name, &username).await?;
    Ok(Json(MemberChange { changed }))
}

/// The roles: the built-in ones and the custom ones (administrators).
#[utoipa::path(get, path = "/api/v1/roles", tag = "access",
    responses((status = 200, body = ListJson<RoleJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_roles(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<ListJson<RoleJson>>> {
    let roles = s.app.roles(&v.actor).await?;
    Ok(Json(ListJson {
        items: roles
            .into_iter()
            .map(|r| RoleJson {
                builtin: r.role.is_builtin(),
                name: r.role.as_str().to_owned(),
                users: r.users,
            })
            .collect(),
        next_cursor: None,
    }))
}

/// Makes a custom role (administrators). It grants nothing until a rule
/// names it: give it a site-wide level with a rule on the whole wiki.
#[utoipa::path(post, path = "/api/v1/roles", tag = "access", request_body = CreateRole,
    responses((status = 201, body = RoleJson), (status = 409, body = ErrorBody, description = "`role_taken`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_role`")))]
pub(crate) async fn create_role(
    State(s): State<AppState>,
    v: Visitor,
    ApiJson(body): ApiJson<CreateRole>,
) -> ApiResult<(StatusCode, Json<RoleJson>)> {
    let role = s.app.create_role(&v.actor, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(RoleJson {
            name: role.as_str().to_owned(),
            builtin: false,
            users: 0,
        }),
    ))
}

/// Deletes a custom role nobody has (administrators); rules naming it go.
#[utoipa::path(delete, path = "/api/v1/roles/{name}", tag = "access", params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "`role_not_found`"),
              (status = 409, body = ErrorBody, description = "`role_in_use`"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn delete_role(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_role(&v.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
