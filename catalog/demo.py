"""The demo catalog that ``flask seed`` loads: outdoor and sports gear."""

DEMO_ISSUER = "urn:catalog:demo"

USERS = [
    {"subject": "ada", "name": "Ada Brooks", "email": "ada@example.com"},
    {"subject": "sam", "name": "Sam Okafor", "email": "sam@example.com"},
    {"subject": "lena", "name": "Lena Fischer", "email": "lena@example.com"},
]

# (category, description, [(item, description), ...]); owners rotate over USERS.
CATALOG = [
    (
        "Soccer",
        "Balls, boots and the gear around the world's game.",
        [
            (
                "Match Ball",
                "Size 5 thermally bonded ball with a textured casing for a true flight.",
            ),
            (
                "Firm Ground Boots",
                "Lightweight synthetic upper and conical studs for natural grass pitches.",
            ),
            (
                "Shin Guards",
                "Slip-in guards with a hard polypropylene shell and a soft EVA backing.",
            ),
            ("Goalkeeper Gloves", "Latex palms with finger protection and a wide wrist strap."),
            ("Training Cones", "A set of 40 flexible cones in four colours, with a carry stand."),
            ("Pop-up Goal", "Folds flat in seconds; two 1.5 m goals with pegs and a bag."),
            ("Team Jersey", "Breathable polyester shirt with a mesh back panel."),
        ],
    ),
    (
        "Basketball",
        "Indoor and outdoor courts, from the first dribble to league nights.",
        [
            ("Composite Basketball", "Size 7 composite leather ball with deep channels for grip."),
            ("High-top Shoes", "Cushioned midsole and ankle support for hard landings."),
            (
                "Portable Hoop",
                "Adjustable 2.3–3.05 m height, water-fillable base, shatterproof backboard.",
            ),
            ("Ball Pump", "Dual-action pump with two needles and a pressure gauge."),
            ("Shooting Sleeve", "Compression arm sleeve that keeps the elbow warm between games."),
            ("Rebound Net", "Returns made shots to the shooter; fits standard rims."),
        ],
    ),
    (
        "Baseball",
        "Bats, gloves and everything for the diamond.",
        [
            ("Maple Bat", "33-inch one-piece maple bat with a cupped end and a balanced swing."),
            ("Fielder's Glove", "11.5-inch full-grain leather glove with an I-web for infielders."),
            ("Batting Helmet", "Dual-density foam helmet with a jaw guard."),
            ("Practice Balls", "A dozen cork-centre balls with raised red seams."),
            ("Catcher's Mitt", "33.5-inch mitt with a deep pocket and padded thumb."),
            ("Batting Tee", "Height-adjustable rubber tee for swing drills."),
        ],
    ),
    (
        "Frisbee",
        "Ultimate, disc golf and a lazy afternoon in the park.",
        [
            ("Ultimate Disc", "175 g regulation disc with a stable, predictable flight."),
            ("Disc Golf Driver", "Long-range driver for open fairways; overstable fade."),
            ("Midrange Disc", "Straight-flying midrange for approach shots."),
            ("Putter", "Grippy, beaded-rim putter for the last few metres."),
            ("Disc Bag", "Holds twelve discs, with a bottle pocket and shoulder strap."),
            ("Portable Basket", "Folding disc golf target with 24 chains."),
        ],
    ),
    (
        "Snowboarding",
        "Boards, bindings and layers for the mountain.",
        [
            (
                "All-Mountain Board",
                "Directional twin with a camber profile for carving and park laps.",
            ),
            ("Strap Bindings", "Aluminium baseplate and ratchets that work with gloves on."),
            ("Snowboard Boots", "Medium-flex boots with a quick-pull lace system."),
            ("Goggles", "Cylindrical lens with anti-fog coating and a spare low-light lens."),
            ("Wax Kit", "Iron, universal wax, scraper and brush for a fast base."),
            ("Helmet", "In-mould helmet with adjustable vents and removable ear pads."),
            ("Insulated Jacket", "Waterproof 20k shell with taped seams and a powder skirt."),
        ],
    ),
    (
        "Rock Climbing",
        "Ropes, shoes and protection for crag and gym.",
        [
            ("Dynamic Rope", "60 m, 9.8 mm single rope with a middle mark."),
            ("Climbing Shoes", "Moderately downturned shoes for all-round sport climbing."),
            ("Harness", "Four gear loops, adjustable leg loops and a belay loop wear indicator."),
            ("Belay Device", "Assisted-braking device for single ropes from 8.9 to 10.5 mm."),
            ("Quickdraw Set", "Six 12 cm quickdraws with straight and bent gate carabiners."),
            ("Chalk Bag", "Brush holder, waist belt and a drawstring closure."),
            ("Crash Pad", "Taco-fold bouldering pad with dual-density foam."),
        ],
    ),
    (
        "Hockey",
        "Ice and street hockey gear.",
        [
            ("Composite Stick", "Mid-kick stick with a P92 curve for quick wrist shots."),
            ("Skates", "Heat-mouldable boots with stainless steel runners."),
            ("Pucks", "A bucket of 50 official-weight vulcanised rubber pucks."),
            ("Hockey Gloves", "Four-roll gloves with a flexible cuff."),
            ("Shoulder Pads", "Lightweight pads with a floating sternum plate."),
            ("Stick Tape", "Cloth tape for blade and grip, pack of five."),
        ],
    ),
    (
        "Cycling",
        "Road, trail and city riding.",
        [
            ("Road Helmet", "Aero road helmet with MIPS and 18 vents."),
            ("Bike Lights", "Rechargeable 800-lumen front and 100-lumen rear set."),
            ("Floor Pump", "Steel barrel pump with a gauge and a dual-head chuck."),
            ("Multi-tool", "Sixteen functions including a chain tool and tyre levers."),
            ("Cycling Jersey", "Full-zip jersey with three rear pockets."),
            ("Saddle Bag", "Fits a tube, levers and a multi-tool under the saddle."),
            ("Bike Lock", "Hardened steel U-lock with a frame mount."),
        ],
    ),
    (
        "Running",
        "From the first 5 km to the marathon.",
        [
            ("Road Running Shoes", "Neutral daily trainer with a responsive foam midsole."),
            ("Trail Shoes", "Aggressive lugs and a rock plate for technical paths."),
            ("Running Vest", "5 l hydration vest with two soft flasks."),
            ("GPS Watch", "Tracks pace, distance and heart rate; two weeks of battery."),
            ("Headlamp", "400-lumen rechargeable headlamp for early starts."),
            ("Reflective Jacket", "Packable wind jacket with reflective details."),
        ],
    ),
    (
        "Camping",
        "Sleep well and eat well outdoors.",
        [
            ("Two-Person Tent", "Freestanding three-season tent, 1.6 kg packed."),
            ("Sleeping Bag", "Down bag rated to -5 °C with a draft collar."),
            ("Sleeping Pad", "Insulated inflatable pad, R-value 4.2."),
            ("Camp Stove", "Compact canister stove that boils a litre in three minutes."),
            ("Cook Set", "Anodised aluminium pot, pan and two mugs that nest together."),
            ("Water Filter", "Hollow-fibre squeeze filter good for 400,000 litres."),
            ("Camp Chair", "Folding chair that packs to the size of a water bottle."),
        ],
    ),
]
