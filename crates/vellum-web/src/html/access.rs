//! Who may read and edit: the access page of every folder and page
//! (`/access/{path}`, the whole wiki at `/access`), and the administrators'
//! pages for groups, roles and access reports.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{AccessReport, AccessView, AppError, Code, ErrorKind, Explanation, GroupView, Level};
use vellum_core::FolderPath;

use super::{crumbs, render, render_status, Chrome, Crumb};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_path, encode_query, folder_href, see_other};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/access", class(RouteClass::Small, get(root_page).post(root_save)))
        .route("/access/{*path}", class(RouteClass::Small, get(page).post(save)))
        .route(
            "/admin/groups",
            class(RouteClass::Small, get(groups).post(create_group)),
        )
        .route(
            "/admin/groups/{name}",
            class(RouteClass::Small, get(group).post(group_post)),
        )
        .route("/admin/roles", class(RouteClass::Small, get(roles).post(roles_post)))
        .route("/admin/access-report", class(RouteClass::Small, get(report)))
}

/// Blank rows the access form offers for new rules.
const BLANK_RULES: usize = 3;

fn access_href(path: &FolderPath) -> String {
    if path.is_root() {
        "/access".to_owned()
    } else {
        format!("/access/{}", encode_path(path.as_str()))
    }
}

fn level_label(l: Level) -> &'static str {
    match l {
        Level::None => "No access",
        Level::Read => "Read",
        Level::Comment => "Comment",
        Level::Edit => "Edit",
        Level::Manage => "Manage",
    }
}

/// What someone with a level may do, as the end of a sentence.
fn level_phrase(l: Level) -> &'static str {
    match l {
        Level::None => "has no access here",
        Level::Read => "may read here",
        Level::Comment => "may read and comment here",
        Level::Edit => "may read and edit here",
        Level::Manage => "may read, edit and manage access here",
    }
}

/// A rule row of the form.
pub(crate) struct RuleRow {
    pub principal: String,
    pub level: &'static str,
}

pub(crate) struct InheritedRow {
    pub from: String,
    pub from_href: String,
    pub principal: String,
    pub level: &'static str,
}

pub(crate) struct StepRow {
    pub text: String,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessTemplate {
    chrome: Chrome,
    name: String,
    path: String,
    is_root: bool,
    href: String,
    crumbs: Vec<Crumb>,
    inherit: bool,
    rules: Vec<RuleRow>,
    blanks: Vec<usize>,
    inherited: Vec<InheritedRow>,
    levels: Vec<(&'static str, &'static str)>,
    explain_user: String,
    explanation: Option<(String, &'static str, Vec<StepRow>)>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AccessQuery {
    explain: Option<String>,
    done: Option<String>,
}

fn node_name(p: &FolderPath) -> String {
    if p.is_root() {
        "the whole wiki".to_owned()
    } else {
        format!("“{}”", p.as_str())
    }
}

fn explanation_rows(e: &Explanation) -> (String, &'static str, Vec<StepRow>) {
    use vellum_app::ExplainStep;
    let node = |n: &str| {
        if n.is_empty() {
            "the whole wiki".to_owned()
        } else {
            format!("“{n}”")
        }
    };
    let steps = e
        .steps
        .iter()
        .map(|s| StepRow {
            text: match s {
                ExplainStep::Rule { node: n, rule } => format!(
                    "On {}: {} gets {}.",
                    node(n),
                    rule.principal,
                    level_label(rule.level).to_lowercase()
                ),
                ExplainStep::StopsInheriting { node: n } => {
                    format!("{} stops inheriting: rules above it no longer count.", node(n))
                }
                ExplainStep::Administrator => "Administrators manage everything.".to_owned(),
            },
        })
        .collect();
    (e.user.clone(), level_phrase(e.level), steps)
}

fn access_template(
    v: &Visitor,
    view: AccessView,
    explain_user: String,
    explanation: Option<&Explanation>,
    message: Option<String>,
    error: Option<String>,
) -> AccessTemplate {
    let href = access_href(&view.path);
    AccessTemplate {
        chrome: Chrome::new(v, format!("Access to {}", node_name(&view.path))),
        name: node_name(&view.path),
        is_root: view.path.is_root(),
        path: view.path.as_str().to_owned(),
        crumbs: match view.path.parent() {
            Some(parent) => crumbs(&parent),
            None => Vec::new(),
        },
        href,
        inherit: view.inherit,
        rules: view
            .rules
            .into_iter()
            .map(|r| RuleRow {
                principal: r.principal,
                level: r.level.as_str(),
            })
            .collect(),
        blanks: (0..BLANK_RULES).collect(),
        inherited: view
            .inherited
            .into_iter()
            .map(|r| InheritedRow {
                from_href: match FolderPath::parse(&r.from) {
                    Ok(f) => access_href(&f),
                    Err(_) => "/access".into(),
                },
                from: if r.from.is_empty() {
                    "the whole wiki".into()
                } else {
                    r.from
                },
                principal: r.rule.principal,
                level: level_label(r.rule.level),
            })
            .collect(),
        levels: Level::ALL.iter().map(|l| (l.as_str(), level_label(*l))).collect(),
        explain_user,
        explanation: explanation.map(explanation_rows),
        message,
        error,
    }
}

async fn root_page(s: State<AppState>, v: Visitor, q: Query<AccessQuery>) -> HtmlResult {
    show(s, v, String::new(), q).await
}

async fn page(s: State<AppState>, v: Visitor, Path(path): Path<String>, q: Query<AccessQuery>) -> HtmlResult {
    show(s, v, path, q).await
}

async fn show(State(s): State<AppState>, v: Visitor, raw: String, Query(q): Query<AccessQuery>) -> HtmlResult {
    let view = s.app.access(&v.actor, &raw).await?;
    let who = q.explain.unwrap_or_default();
    let (explanation, error) = if who.trim().is_empty() {
        (None, None)
    } else {
        match s.app.explain(&v.actor, &raw, &who).await {
            Ok(e) => (Some(e), None),
            Err(e) if e.kind() == ErrorKind::NotFound => (None, Some(e.message)),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(render(&access_template(
        &v,
        view,
        who,
        explanation.as_ref(),
        q.done,
        error,
    )))
}

async fn root_save(s: State<AppState>, v: Visitor, f: axum::Form<Vec<(String, String)>>) -> HtmlResult {
    save_rules(s, v, String::new(), f).await
}

async fn save(
    s: State<AppState>,
    v: Visitor,
    Path(path): Path<String>,
    f: axum::Form<Vec<(String, String)>>,
) -> HtmlResult {
    save_rules(s, v, path, f).await
}

/// The form sends `inherit` (a tick box), then `principal` and `level`
/// pairs in order; a row with an empty principal is skipped.
async fn save_rules(
    State(s): State<AppState>,
    v: Visitor,
    raw: String,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> HtmlResult {
    let inherit = raw.is_empty() || fields.iter().any(|(k, _)| k == "inherit");
    let mut rules = Vec::new();
    let mut principal: Option<String> = None;
    let mut bad_level = None;
    for (k, val) in &fields {
        match k.as_str() {
            "principal" => principal = Some(val.trim().to_owned()),
            "level" => {
                if let Some(p) = principal.take().filter(|p| !p.is_empty()) {
                    match Level::parse(val) {
                        Some(l) => rules.push((p, l)),
                        None => bad_level = Some(val.clone()),
                    }
                }
            }
            _ => {}
        }
    }
    let result = match bad_level {
        Some(l) => Err(AppError::invalid(
            Code::InvalidLevel,
            "level",
            format!("The level “{l}” is unknown. Choose one from the list."),
        )),
        None => s.app.set_access(&v.actor, &raw, inherit, &rules).await,
    };
    match result {
        Ok(view) => Ok(see_other(&format!(
            "{}?done={}",
            access_href(&view.path),
            encode_query("Saved. The new rules apply from now on.")
        ))),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid) => {
            let view = s.app.access(&v.actor, &raw).await?;
            Ok(render_status(
                &access_template(&v, view, String::new(), None, None, Some(e.message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Groups.

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsTemplate {
    chrome: Chrome,
    groups: Vec<GroupView>,
    next: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    cursor: Option<String>,
    done: Option<String>,
}

async fn groups(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    groups_page(&s, &v, q.cursor, q.done, None, StatusCode::OK).await
}

async fn groups_page(
    s: &AppState,
    v: &Visitor,
    cursor: Option<String>,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let req = vellum_app::PageRequest { cursor, limit: None };
    let list = s.app.groups(&v.actor, &req).await?;
    Ok(render_status(
        &GroupsTemplate {
            chrome: Chrome::new(v, "Groups"),
            groups: list.items,
            next: list
                .next_cursor
                .map(|c| format!("/admin/groups?cursor={}", encode_query(&c))),
            message,
            error,
        },
        status,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct NameForm {
    #[serde(default)]
    name: String,
}

async fn create_group(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<NameForm>) -> HtmlResult {
    match s.app.create_group(&v.actor, &f.name).await {
        Ok(g) => Ok(see_other(&group_href(&g.name))),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Conflict) => {
            groups_page(&s, &v, None, None, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

fn group_href(name: &str) -> String {
    format!("/admin/groups/{}", encode_path(name))
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupTemplate {
    chrome: Chrome,
    group: GroupView,
    href: String,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn group(
    State(s): State<AppState>,
    v: Visitor,
    Path(name): Path<String>,
    Query(q): Query<DoneQuery>,
) -> HtmlResult {
    group_page(&s, &v, &name, q.done, None, StatusCode::OK).await
}

async fn group_page(
    s: &AppState,
    v: &Visitor,
    name: &str,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let g = s.app.group(&v.actor, name).await?;
    Ok(render_status(
        &GroupTemplate {
            chrome: Chrome::new(v, format!("Group {}", g.name)),
            href: group_href(&g.name),
            group: g,
            message,
            error,
        },
        status,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct GroupForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    username: String,
}

async fn group_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(name): Path<String>,
    axum::Form(f): axum::Form<GroupForm>,
) -> HtmlResult {
    let result = match f.action.as_str() {
        "add" => s.app.add_member(&v.actor, &name, &f.username).await.map(|changed| {
            if changed {
                format!("Added {}.", f.username.trim())
            } else {
                format!("{} was a member already.", f.username.trim())
            }
        }),
        "remove" => s
            .app
            .remove_member(&v.actor, &name, &f.username)
            .await
            .map(|_| format!("Removed {}.", f.username.trim())),
        "delete" => {
            s.app.delete_group(&v.actor, &name).await?;
            return Ok(see_other(&format!(
                "/admin/groups?done={}",
                encode_query(&format!("Deleted the group {name}."))
            )));
        }
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(m) => Ok(see_other(&format!("{}?done={}", group_href(&name), encode_query(&m)))),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::BadRequest) || e.code == Code::UserNotFound => {
            group_page(&s, &v, &name, None, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Roles.

pub(crate) struct RoleRow {
    pub name: String,
    pub builtin: bool,
    pub users: i64,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesTemplate {
    chrome: Chrome,
    roles: Vec<RoleRow>,
    message: Option<String>,
    error: Option<String>,
}

async fn roles(State(s): State<AppState>, v: Visitor, Query(q): Query<DoneQuery>) -> HtmlResult {
    roles_page(&s, &v, q.done, None, StatusCode::OK).await
}

async fn roles_page(
    s: &AppState,
    v: &Visitor,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let roles = s.app.roles(&v.actor).await?;
    Ok(render_status(
        &RolesTemplate {
            chrome: Chrome::new(v, "Roles"),
            roles: roles
                .into_iter()
                .map(|r| RoleRow {
                    builtin: r.role.is_builtin(),
                    name: r.role.as_str().to_owned(),
                    users: r.users,
                })
                .collect(),
            message,
            error,
        },
        status,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
}

async fn roles_post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<RoleForm>) -> HtmlResult {
    let result = match f.action.as_str() {
        "create" => s.app.create_role(&v.actor, &f.name).await.map(|r| {
            format!("Made the role {r}. Give it a level on the access page of the whole wiki or of a folder.")
        }),
        "delete" => s
            .app
            .delete_role(&v.actor, &f.name)
            .await
            .map(|()| format!("Deleted the role {}.", f.name.trim())),
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(m) => Ok(see_other(&format!("/admin/roles?done={}", encode_query(&m)))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::Conflict | ErrorKind::BadRequest | ErrorKind::NotFound
            ) =>
        {
            roles_page(&s, &v, None, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------
// Access report.

pub(crate) struct ReportLine {
    pub scope: String,
    pub href: String,
    pub level: &'static str,
    pub pages: i64,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportTemplate {
    chrome: Chrome,
    user: String,
    group: String,
    report: Option<(String, Vec<ReportLine>)>,
    csv_href: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    group: String,
}

async fn report(State(s): State<AppState>, v: Visitor, Query(q): Query<ReportQuery>) -> HtmlResult {
    // Only administrators see the form at all.
    s.app.site_settings(&v.actor).await?;
    let (user, group) = (q.user.trim().to_owned(), q.group.trim().to_owned());
    let subject = match (user.is_empty(), group.is_empty()) {
        (false, _) => Some((format!("user:{user}"), format!("user={}", encode_query(&user)))),
        (true, false) => Some((format!("group:{group}"), format!("group={}", encode_query(&group)))),
        (true, true) => None,
    };
    let (report, csv_href, error) = match subject {
        None => (None, None, None),
        Some((spec, query)) => match s.app.access_report(&v.actor, &spec).await {
            Ok(AccessReport { subject, rows }) => (
                Some((
                    subject,
                    rows.into_iter()
                        .map(|r| ReportLine {
                            href: match FolderPath::parse(&r.scope) {
                                Ok(f) if !f.is_root() => folder_href(&f),
                                _ => "/folders".into(),
                            },
                            scope: if r.scope.is_empty() {
                                "Everything else".into()
                            } else {
                                r.scope
                            },
                            level: level_label(r.level),
                            pages: r.pages,
                        })
                        .collect(),
                )),
                Some(format!("/api/v1/access-report?{query}&format=csv")),
                None,
            ),
            Err(e) if matches!(e.kind(), ErrorKind::Invalid) => (None, None, Some(e.message)),
            Err(e) => return Err(e.into()),
        },
    };
    Ok(render(&ReportTemplate {
        chrome: Chrome::new(&v, "Access report"),
        user,
        group,
        report,
        csv_href,
        error,
    }))
}
