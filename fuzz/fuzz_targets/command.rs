//! Command payloads: the terminal's and remote bindings' text commands (`Command::parse`) and
//! every MQTT topic a room listens on (`Router::route`: plain text, JSON, Home Assistant's
//! phase select and birth message, Zigbee2MQTT button actions), retained or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sanctum::command::Command;
use sanctum::model::{RemoteAction, RemoteDef};
use sanctum::mqtt::{Router, Topics};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(payload) {
        if let Ok(command) = Command::parse(text) {
            // What parses prints back to text that parses to the same command.
            assert_eq!(Command::parse(&command.to_string()), Ok(command));
        }
    }
    let remote = RemoteDef {
        name: "nightstand".to_owned(),
        driver: "zigbee2mqtt".to_owned(),
        address: "button".to_owned(),
        actions: vec![
            RemoteAction {
                action: "single".to_owned(),
                command: Command::Next,
                span: 0..0,
            },
            RemoteAction {
                action: "hold".to_owned(),
                command: Command::Goto("massage".to_owned()),
                span: 0..0,
            },
        ],
    };
    let topics = Topics::new("bedroom");
    let router = Router::new(topics.clone(), &[remote], true).watching_status();
    let topic = match selector % 8 {
        0 => topics.cmd.clone(),
        1 => topics.all_cmd.clone(),
        2 => topics.phase_set.clone(),
        3 => topics.ha_status.clone(),
        4 => "zigbee2mqtt/button".to_owned(),
        5 => "zigbee2mqtt/button/action".to_owned(),
        6 => "sanctum/other/cmd".to_owned(),
        _ => String::from_utf8_lossy(payload).into_owned(),
    };
    let _ = router.route(&topic, payload, selector & 0x80 != 0);
});
