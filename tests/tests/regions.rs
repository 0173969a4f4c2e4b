//! region_affinity against real backends: stay in the region, spill when it is full.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tidegate_tests::{
    backend, config_file, load, proxy, regional_backend_list, served_by, Answer, Process,
};

fn region_config(
    spill_in_flight: u32,
    eu: &[&Process],
    us: &[&Process],
) -> tidegate_tests::ConfigFile {
    config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\nregion = \"eu-west\"\n\n\
         [pool.p]\npolicy = \"region_affinity\"\nwithin = \"least_conn\"\n\
         fallback = [\"eu-west\", \"us-east\"]\nspill_in_flight = {spill_in_flight}\n\
         backends = [{}]\n",
        regional_backend_list(eu, us)
    ))
}

fn count_in(answers: &[Result<Answer, String>], backends: &[&Process]) -> usize {
    backends
        .iter()
        .map(|b| served_by(answers, b.addr().port()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_stay_in_their_region_while_it_is_under_the_threshold() {
    let eu = [backend(1, Some("eu-west")), backend(1, Some("eu-west"))];
    let us = [backend(1, Some("us-east")), backend(1, Some("us-east"))];
    let eu_refs = [&eu[0], &eu[1]];
    let us_refs = [&us[0], &us[1]];
    let config = region_config(32, &eu_refs, &us_refs);
    let proxy = proxy(&config, 1);

    let to_us = load(
        proxy.addr(),
        "/",
        &[("x-tidegate-region", "us-east")],
        400,
        4,
    )
    .await;
    assert_eq!(
        count_in(&to_us, &us_refs),
        400,
        "every us-east request stays in us-east"
    );

    let to_eu = load(
        proxy.addr(),
        "/",
        &[("x-tidegate-region", "eu-west")],
        400,
        4,
    )
    .await;
    assert_eq!(
        count_in(&to_eu, &eu_refs),
        400,
        "every eu-west request stays in eu-west"
    );

    let by_listener = load(proxy.addr(), "/", &[], 200, 4).await;
    assert_eq!(
        count_in(&by_listener, &eu_refs),
        200,
        "without the header the listener's region applies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_region_spills_to_the_fallback_and_every_request_succeeds() {
    let eu = [backend(200, Some("eu-west")), backend(200, Some("eu-west"))];
    let us = [backend(1, Some("us-east")), backend(1, Some("us-east"))];
    let eu_refs = [&eu[0], &eu[1]];
    let us_refs = [&us[0], &us[1]];
    // Two eu-west backends at two in flight each hold four requests; the rest spill.
    let config = region_config(2, &eu_refs, &us_refs);
    let proxy = proxy(&config, 1);

    let answers = load(
        proxy.addr(),
        "/",
        &[("x-tidegate-region", "eu-west")],
        96,
        16,
    )
    .await;
    let ok = answers
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|a| a.status == 200))
        .count();
    assert_eq!(
        ok,
        96,
        "every request gets 200: {:?}",
        answers.iter().find(|a| a.is_err())
    );
    let in_eu = count_in(&answers, &eu_refs);
    let in_us = count_in(&answers, &us_refs);
    assert_eq!(in_eu + in_us, 96);
    assert!(in_eu > 0, "eu-west still serves what it can hold");
    assert!(in_us > 0, "the excess spills to us-east");
    println!("spill: eu-west served {in_eu}, us-east {in_us}");
}
