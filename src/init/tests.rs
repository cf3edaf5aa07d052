use super::*;

#[test]
fn block_placeholders_take_the_indent_and_empty_ones_vanish() {
    let t = "a:\n  %%B%%\n  c: %%C%%\n";
    let out = render(
        t,
        &[("B", "# why\nif: x".to_owned()), ("C", "1".to_owned())],
    );
    assert_eq!(out, "a:\n  # why\n  if: x\n  c: 1\n");
    assert_eq!(
        render(t, &[("B", String::new()), ("C", "1".to_owned())]),
        "a:\n  c: 1\n"
    );
}

#[test]
fn every_placeholder_is_filled_in_both_flavors() {
    for file in project_files("hotdash")
        .unwrap()
        .iter()
        .chain(&repository_files())
    {
        assert!(
            !file.contents.contains("%%"),
            "{} has an unfilled placeholder",
            file.path.display()
        );
    }
}

#[test]
fn names_follow_fly_app_rules() {
    assert!(check_name("hotdash").is_ok());
    assert!(check_name("hot-dash2").is_ok());
    for bad in [
        "",
        "Hotdash",
        "-x",
        "x-",
        "a_b",
        "a b",
        "a\"b",
        &"a".repeat(41),
    ] {
        assert!(check_name(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn project_files_use_the_name_everywhere_it_belongs() {
    let files = project_files("hotdash").unwrap();
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert!(paths.contains(&"fly/hotdash-staging.toml".to_owned()));
    assert!(paths.contains(&"fly/hotdash-production.toml".to_owned()));
    let config = &files[0].contents;
    assert!(config.contains("app: hotdash-staging, url: https://hotdash-staging.fly.dev"));
    assert!(files.iter().all(|f| !f.contents.contains("myapp")));
}

#[test]
fn repository_slugs_are_checked() {
    assert!(is_repository_slug("owner/shipit"));
    assert!(!is_repository_slug("owner"));
    assert!(!is_repository_slug("owner/x y"));
    assert!(!is_repository_slug("/x"));
}
