"""Seed data for `nabuur demo`: two Jette neighbourhoods, one neighbourhood house and its posts.

Pure data, no logic. Everything here is fictional: the organisation, its staff, the residents
and the clients that staff post on behalf of (those are only ever described, never named).
The seeding code relies on the exact keys and values used below.
"""

from __future__ import annotations

from typing import Any

NEIGHBOURHOODS: list[dict[str, Any]] = [
    {
        "slug": "jette-centre",
        "name": "Jette Centre",
        "commune": "Jette",
        "country": "BE",
        "description": {
            "nl": (
                "Het hart van Jette, rond het Koningin Astridplein en het station. "
                "Appartementsblokken, kleine winkels en buren uit alle hoeken van de wereld."
            ),
            "fr": (
                "Le cœur de Jette, autour de la place Reine Astrid et de la gare. "
                "Des immeubles à appartements, des petits commerces et des voisins "
                "venus des quatre coins du monde."
            ),
            "en": (
                "The heart of Jette, around Place Reine Astrid and the station: "
                "apartment blocks, small shops and neighbours from all over the world."
            ),
        },
        "centre_lat": 50.8785,
        "centre_lon": 4.3265,
        "radius_m": 750,
    },
    {
        "slug": "dieleghem",
        "name": "Dieleghem",
        "commune": "Jette",
        "country": "BE",
        "description": {
            "nl": (
                "Een rustige, groene wijk rond de oude abdij van Dielegem en het "
                "Koning Boudewijnpark, met veel gezinnen en oudere bewoners."
            ),
            "fr": (
                "Un quartier calme et vert autour de l'ancienne abbaye de Dieleghem et du "
                "parc Roi Baudouin, où vivent beaucoup de familles et de personnes âgées."
            ),
            "en": (
                "A quiet, green quarter around the old Dieleghem abbey and King Baudouin Park, "
                "home to many families and older residents."
            ),
        },
        "centre_lat": 50.8880,
        "centre_lon": 4.3140,
        "radius_m": 850,
    },
]

ORGANISATIONS: list[dict[str, Any]] = [
    {
        "slug": "tussen-buren",
        "name": "Tussen Buren / Entre Voisins",
        "kind": "ngo",
        "description": {
            "nl": (
                "Tweetalig buurthuis in Jette: huiswerkklas, taalatelier, sociale permanentie "
                "en een netwerk van buren die elkaar een handje helpen."
            ),
            "fr": (
                "Maison de quartier bilingue à Jette : école de devoirs, atelier de langues, "
                "permanence sociale et un réseau de voisins qui se donnent un coup de main."
            ),
            "en": (
                "A bilingual neighbourhood house in Jette: homework club, language workshop, "
                "social drop-in hours and a network of neighbours who lend each other a hand."
            ),
        },
        "website": "https://example.org/tussen-buren",
    },
]

STAFF: list[dict[str, Any]] = [
    {
        "username": "els",
        "display_name": "Els (Tussen Buren)",
        "languages": ["nl", "fr", "en"],
        "organisation": "tussen-buren",
        "role": "coordinator",
        "home": "jette-centre",
    },
    {
        "username": "karim",
        "display_name": "Karim (Tussen Buren)",
        "languages": ["fr", "nl"],
        "organisation": "tussen-buren",
        "role": "staff",
        "home": "dieleghem",
    },
]

RESIDENTS: list[dict[str, Any]] = [
    {
        "username": "marleen",
        "display_name": "Marleen V.",
        "languages": ["nl", "fr"],
        "home": "jette-centre",
    },
    {
        "username": "sophie",
        "display_name": "Sophie D.",
        "languages": ["fr"],
        "home": "jette-centre",
    },
    {
        "username": "priya",
        "display_name": "Priya",
        "languages": ["en", "fr"],
        "home": "jette-centre",
    },
    {
        "username": "nadia",
        "display_name": "Nadia B.",
        "languages": ["fr", "en"],
        "home": "jette-centre",
    },
    {
        "username": "youssef",
        "display_name": "Youssef",
        "languages": ["fr", "nl", "en"],
        "home": "dieleghem",
    },
    {
        "username": "tom",
        "display_name": "Tom H.",
        "languages": ["en"],
        "home": "dieleghem",
    },
    {
        "username": "jan",
        "display_name": "Jan P.",
        "languages": ["nl", "fr", "en"],
        "home": "dieleghem",
    },
    {
        "username": "greet",
        "display_name": "Greet M.",
        "languages": ["nl"],
        "home": "dieleghem",
    },
]

POSTS: list[dict[str, Any]] = [
    # --- Requests -------------------------------------------------------------------------
    {
        "kind": "request",
        "author": "marleen",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "transport",
        "language": "nl",
        "title": "Oude zetel naar het recyclagepark brengen",
        "description": (
            "Mijn oude driezit moet weg, maar ik woon op de tweede verdieping zonder lift en "
            "heb geen auto. Wie helpt me hem naar beneden te dragen en naar het recyclagepark "
            "te rijden? Koffie en speculoos achteraf, beloofd!"
        ),
        "translations": {
            "fr": {
                "title": "Amener un vieux canapé au parc à conteneurs",
                "description": (
                    "Mon vieux canapé trois places doit partir, mais j'habite au deuxième étage "
                    "sans ascenseur et je n'ai pas de voiture. Qui m'aide à le descendre et à "
                    "l'amener au parc à conteneurs ? Café et spéculoos après, promis !"
                ),
            },
        },
        "starts_in_days": 6,
        "start_hour": 10,
        "duration_hours": 2,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "near Place Reine Astrid",
        "status": "matched",
        "responses": [
            {
                "author": "jan",
                "kind": "offer",
                "body": (
                    "Ik heb een aanhangwagen achter mijn auto, daar past die zetel zo in. "
                    "Het moment dat je voorstelt, past voor mij."
                ),
                "accepted": True,
            },
            {
                "author": "youssef",
                "kind": "offer",
                "body": "Ik kom mee dragen, twee verdiepingen is niks. Tot dan!",
                "accepted": True,
            },
        ],
    },
    {
        "kind": "request",
        "author": "karim",
        "organisation": "tussen-buren",
        "on_behalf": "an elderly lady with reduced mobility",
        "neighbourhood": "dieleghem",
        "category": "transport",
        "language": "fr",
        "title": "Conduire une voisine à un rendez-vous à l'UZ Brussel",
        "description": (
            "Une dame du quartier, qui se déplace avec un déambulateur, a un rendez-vous de "
            "contrôle à l'UZ Brussel. Nous cherchons quelqu'un avec une voiture pour l'y "
            "conduire, l'attendre et la ramener chez elle. Le trajet est court, mais l'attente "
            "peut être longue : prévoyez un bon livre !"
        ),
        "translations": {},
        "starts_in_days": 9,
        "start_hour": 8,
        "duration_hours": 4,
        "helpers_needed": 1,
        "visibility": "public",
        "area_hint": "near the Abbaye de Dieleghem",
        "status": "open",
        "responses": [
            {
                "author": "nadia",
                "kind": "offer",
                "body": (
                    "J'ai une voiture et je suis en télétravail ce jour-là, je peux m'arranger. "
                    "Est-ce qu'elle a besoin d'aide pour monter dans la voiture ?"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "els",
        "organisation": "tussen-buren",
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "cleaning",
        "language": "nl",
        "title": "5 buren gezocht voor een opruimochtend in het Koning Boudewijnpark",
        "description": (
            "Op zaterdagvoormiddag ruimen we samen zwerfvuil op in het Koning Boudewijnpark, "
            "aan de kant van Dielegem. Wij zorgen voor handschoenen, grijpers, vuilniszakken en "
            "koffie; jullie brengen het goede humeur mee. Kinderen zijn welkom onder begeleiding."
        ),
        "translations": {
            "fr": {
                "title": "5 voisins pour une matinée de nettoyage au parc Roi Baudouin",
                "description": (
                    "Samedi matin, on ramasse ensemble les déchets dans le parc Roi Baudouin, "
                    "côté Dieleghem. Nous fournissons les gants, les pinces, les sacs poubelle "
                    "et le café ; vous apportez la bonne humeur. Les enfants sont les bienvenus "
                    "s'ils sont accompagnés."
                ),
            },
        },
        "starts_in_days": 11,
        "start_hour": 10,
        "duration_hours": 3,
        "helpers_needed": 5,
        "visibility": "public",
        "area_hint": "Parc Roi Baudouin, Dieleghem side",
        "status": "open",
        "responses": [
            {
                "author": "marleen",
                "kind": "offer",
                "body": "Ik ben erbij! Ik breng mijn eigen tuinhandschoenen mee.",
                "accepted": True,
            },
            {
                "author": "priya",
                "kind": "offer",
                "body": (
                    "Je viens avec plaisir, et j'amène une amie s'il vous manque encore des bras."
                ),
                "accepted": True,
            },
            {
                "author": "greet",
                "kind": "comment",
                "body": (
                    "Met mijn rug kan ik niet meer bukken, maar ik bak een cake voor de "
                    "koffiepauze."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "tom",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "pets",
        "language": "en",
        "title": "Dog walker needed while I recover from knee surgery",
        "description": (
            "I'm having knee surgery and won't be able to walk our Labrador, Pepper, for about "
            "three weeks. She's friendly, good on the lead and adores the park. I'm looking for "
            "one person for a morning walk and one for an evening walk, about 45 minutes each."
        ),
        "translations": {},
        "starts_in_days": 1,
        "start_hour": 8,
        "duration_hours": 1,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "Parc Roi Baudouin side",
        "status": "matched",
        "responses": [
            {
                "author": "priya",
                "kind": "offer",
                "body": (
                    "I walk past your street every morning on my way to the tram, so I'm happy "
                    "to take Pepper along for the morning round."
                ),
                "accepted": True,
            },
            {
                "author": "nadia",
                "kind": "offer",
                "body": (
                    "I can do evenings after work, around seven. I grew up with Labradors, "
                    "she'll be in good hands."
                ),
                "accepted": True,
            },
        ],
    },
    {
        "kind": "request",
        "author": "karim",
        "organisation": "tussen-buren",
        "on_behalf": "a man living alone who has been housebound since a fall",
        "neighbourhood": "dieleghem",
        "category": "shopping",
        "language": "fr",
        "title": "Courses hebdomadaires pour un voisin qui ne sort plus de chez lui",
        "description": (
            "Depuis une chute cet hiver, un monsieur du quartier ne peut plus porter ses courses. "
            "Il fait sa liste lui-même et paie en liquide ; il cherche quelqu'un qui passe au "
            "supermarché pour lui une fois par semaine. Un brin de causette à la livraison lui "
            "ferait aussi très plaisir."
        ),
        "translations": {},
        "starts_in_days": 3,
        "start_hour": 14,
        "duration_hours": 1,
        "helpers_needed": 1,
        "visibility": "public",
        "area_hint": "Bois de Laerbeek side",
        "status": "matched",
        "responses": [
            {
                "author": "jan",
                "kind": "offer",
                "body": (
                    "Je fais mes courses tous les jeudis, je peux très bien prendre sa liste "
                    "en même temps."
                ),
                "accepted": True,
            },
            {
                "author": "sophie",
                "kind": "comment",
                "body": (
                    "Si Jan ne peut pas une semaine, je peux prendre le relais. "
                    "N'hésitez pas à me faire signe."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "els",
        "organisation": "tussen-buren",
        "on_behalf": "a client who speaks only Arabic and has no computer",
        "neighbourhood": "jette-centre",
        "category": "paperwork",
        "language": "en",
        "title": "Arabic speaker to help a client with their tax return on MyMinfin",
        "description": (
            "One of our clients speaks only Arabic, has no computer and the tax return deadline "
            "is coming up. We'll fill it in together on MyMinfin (Tax-on-web) at the "
            "neighbourhood house, on our laptop, with a staff member present. We're looking for "
            "someone who speaks Arabic and doesn't panic at the sight of a tax form."
        ),
        "translations": {},
        "starts_in_days": 0,
        "start_hour": 14,
        "duration_hours": 2,
        "helpers_needed": 1,
        "visibility": "followers",
        "area_hint": None,
        "status": "done",
        "responses": [
            {
                "author": "youssef",
                "kind": "offer",
                "body": (
                    "I speak Arabic and I've done my parents' tax return on MyMinfin for years. "
                    "Happy to come and help."
                ),
                "accepted": True,
            },
        ],
    },
    {
        "kind": "request",
        "author": "nadia",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "childcare",
        "language": "fr",
        "title": "Baby-sitting pour deux enfants un soir de semaine",
        "description": (
            "Je dois travailler tard un soir et mon mari est à l'étranger. Je cherche quelqu'un "
            "de confiance pour garder ma fille (4 ans) et mon fils (7 ans) de 19 h à 23 h : "
            "le repas est prêt, il reste l'histoire et le dodo. Ils sont adorables, "
            "la plupart du temps !"
        ),
        "translations": {},
        "starts_in_days": 4,
        "start_hour": 19,
        "duration_hours": 4,
        "helpers_needed": 1,
        "visibility": "followers",
        "area_hint": "near Jette station",
        "status": "open",
        "responses": [
            {
                "author": "sophie",
                "kind": "offer",
                "body": (
                    "J'ai élevé trois enfants et je suis souvent seule le soir, je viens "
                    "volontiers. On peut se voir avant pour que les petits fassent ma "
                    "connaissance ?"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "greet",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "garden",
        "language": "nl",
        "title": "Haag in de voortuin snoeien",
        "description": (
            "Mijn ligusterhaag is deze winter flink uitgegroeid en ik kan zelf niet meer op de "
            "ladder. Ik heb een elektrische heggenschaar, maar twee paar handen (en iemand om "
            "het snoeisel op te ruimen) zijn meer dan welkom. Het groen mag in de groene zakken "
            "van Net Brussel."
        ),
        "translations": {},
        "starts_in_days": 0,
        "start_hour": 9,
        "duration_hours": 3,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "near the Abbaye de Dieleghem",
        "status": "done",
        "responses": [
            {
                "author": "jan",
                "kind": "offer",
                "body": (
                    "Ik breng mijn eigen ladder mee, dan neem ik de bovenkant voor mijn rekening."
                ),
                "accepted": True,
            },
            {
                "author": "youssef",
                "kind": "offer",
                "body": "Ik doe het opruimen en vul de zakken. Tot dan!",
                "accepted": True,
            },
        ],
    },
    {
        "kind": "request",
        "author": "els",
        "organisation": "tussen-buren",
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "language",
        "language": "nl",
        "title": "Vrijwilligers gezocht voor ons huiswerkklasje op woensdagnamiddag",
        "description": (
            "Veel kinderen in ons huiswerkklasje gaan naar een Nederlandstalige school, terwijl "
            "er thuis Frans, Arabisch of Spaans gesproken wordt. Op woensdagnamiddag zoeken we "
            "een paar extra volwassenen die willen meelezen, een dictee overhoren of een "
            "rekenoefening uitleggen. Ervaring is niet nodig, geduld wel."
        ),
        "translations": {},
        "starts_in_days": 2,
        "start_hour": 14,
        "duration_hours": 2,
        "helpers_needed": 3,
        "visibility": "public",
        "area_hint": None,
        "status": "open",
        "responses": [
            {
                "author": "marleen",
                "kind": "offer",
                "body": "Ik ben gepensioneerd onderwijzeres, ik kom graag elke woensdag.",
                "accepted": True,
            },
            {
                "author": "jan",
                "kind": "comment",
                "body": "Om de twee weken zou ik kunnen komen. Is dat ook goed?",
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "marleen",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "company",
        "language": "nl",
        "title": "Wie komt af en toe koffie drinken bij mijn oudere buurvrouw?",
        "description": (
            "Mijn buurvrouw van 89 woont alleen en ziet soms dagen niemand behalve de "
            "thuisverpleging. Ze kaart graag, vertelt graag over vroeger en spreekt Nederlands "
            "en Frans. Ik ga al elke maandag langs, maar nog een paar vaste gezichten zouden "
            "haar veel deugd doen."
        ),
        "translations": {},
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": 1,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "Wemmelse steenweg side",
        "status": "open",
        "responses": [
            {
                "author": "greet",
                "kind": "offer",
                "body": (
                    "Ik woon wat verder, maar ik kom graag een keer per week met de tram. "
                    "Kaarten? Ik ben een kei in kingen!"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "priya",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "pets",
        "language": "en",
        "title": "Feed our cat for a week while we visit family",
        "description": (
            "We're flying to Chennai for a family wedding and need someone to pop in once a day "
            "to feed Miso, refresh her water and scoop the litter box. She's shy but comes out "
            "for treats. The keys stay with a neighbour you can meet beforehand."
        ),
        "translations": {},
        "starts_in_days": 14,
        "start_hour": 18,
        "duration_hours": 1,
        "helpers_needed": 1,
        "visibility": "members",
        "area_hint": "Boulevard de Smet de Naeyer side",
        "status": "open",
        "responses": [
            {
                "author": "nadia",
                "kind": "offer",
                "body": (
                    "I'm only two streets away and we had a cat for fifteen years. "
                    "Happy to look after Miso."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "request",
        "author": "sophie",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "diy",
        "language": "fr",
        "title": "Deux paires de bras pour monter une armoire en kit",
        "description": (
            "J'ai acheté une grande armoire en kit (deux mètres de haut, quatorze pages de "
            "notice) et je n'y arriverai pas seule. Il faudra aussi la fixer au mur. J'ai les "
            "outils ; je m'occupe du café et des croissants."
        ),
        "translations": {},
        "starts_in_days": 5,
        "start_hour": 13,
        "duration_hours": 3,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "between Place Reine Astrid and the station",
        "status": "open",
        "responses": [
            {
                "author": "youssef",
                "kind": "offer",
                "body": "Les meubles en kit, c'est mon sport préféré. Je viens avec ma visseuse !",
                "accepted": True,
            },
        ],
    },
    {
        "kind": "request",
        "author": "tom",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "paperwork",
        "language": "en",
        "title": "Help me understand a letter about my residence card (in Dutch)",
        "description": (
            "I got an official letter about renewing my residence card and my Dutch isn't good "
            "enough to be sure what they're asking for. Could someone sit with me for half an "
            "hour, go through it and help me write a short reply? Coffee's on me."
        ),
        "translations": {},
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": 1,
        "helpers_needed": 1,
        "visibility": "public",
        "area_hint": None,
        "status": "open",
        "responses": [
            {
                "author": "jan",
                "kind": "offer",
                "body": (
                    "Happy to help, I'm home most evenings. Send me a message and we'll find "
                    "a time."
                ),
                "accepted": False,
            },
        ],
    },
    # --- Offers ---------------------------------------------------------------------------
    {
        "kind": "offer",
        "author": "priya",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "digital",
        "language": "en",
        "title": "Help setting up your smartphone, itsme or MyMinfin",
        "description": (
            "I work in IT and I'm happy to sit down with you and your phone: installing itsme, "
            "setting up WhatsApp for video calls with the grandchildren, or logging in to "
            "MyMinfin. No question is too basic. Weekends suit me best."
        ),
        "translations": {
            "fr": {
                "title": "Aide pour configurer votre smartphone, itsme ou MyMinfin",
                "description": (
                    "Je travaille dans l'informatique et je m'installe volontiers avec vous et "
                    "votre téléphone : installer itsme, configurer WhatsApp pour les appels "
                    "vidéo avec les petits-enfants ou se connecter à MyMinfin. Aucune question "
                    "n'est trop simple. Le week-end, c'est l'idéal pour moi."
                ),
            },
        },
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": 1,
        "helpers_needed": 3,
        "visibility": "public",
        "area_hint": "near Jette station",
        "status": "open",
        "responses": [
            {
                "author": "sophie",
                "kind": "comment",
                "body": (
                    "Ma mère de 82 ans a reçu un smartphone de ses petits-enfants et n'ose pas "
                    "y toucher. Je peux vous l'amener un samedi ?"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "sophie",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "lending",
        "language": "fr",
        "title": "Je prête échelle, foreuse et diable",
        "description": (
            "J'ai une échelle coulissante de 4 mètres, une foreuse à percussion (avec mèches "
            "béton) et un diable pour les cartons lourds. Passez les chercher et rapportez-les "
            "quand vous avez fini, c'est tout ce que je demande."
        ),
        "translations": {},
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": None,
        "helpers_needed": 1,
        "visibility": "public",
        "area_hint": "near Place Reine Astrid",
        "status": "open",
        "responses": [
            {
                "author": "jan",
                "kind": "comment",
                "body": (
                    "Je pourrais emprunter l'échelle ce week-end pour nettoyer mes gouttières ? "
                    "Je vous la rapporte dimanche soir."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "jan",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "diy",
        "language": "nl",
        "title": "Ik herstel je fiets: platte band, remmen, versnellingen",
        "description": (
            "Ik sleutel al jaren aan fietsen en doe dat graag voor buren. Kleine herstellingen "
            "zijn gratis, je betaalt alleen de onderdelen. Kom op zaterdagvoormiddag langs met "
            "je fiets of laat een berichtje achter."
        ),
        "translations": {
            "fr": {
                "title": "Je répare votre vélo : crevaison, freins, vitesses",
                "description": (
                    "Je bricole des vélos depuis des années et je le fais volontiers pour les "
                    "voisins. Les petites réparations sont gratuites, vous ne payez que les "
                    "pièces. Passez avec votre vélo le samedi matin ou laissez-moi un message."
                ),
            },
        },
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": 2,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "near the Abbaye de Dieleghem",
        "status": "open",
        "responses": [
            {
                "author": "nadia",
                "kind": "comment",
                "body": (
                    "Le vélo de mon fils a une roue arrière voilée et des freins qui grincent. "
                    "Je peux passer samedi ?"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "youssef",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "meals",
        "language": "fr",
        "title": "Soupe maison pour qui rentre de l'hôpital",
        "description": (
            "Chaque dimanche, je prépare une grande marmite de soupe : lentilles, potiron ou "
            "harira, selon la saison. Si vous ou un voisin sortez de l'hôpital, je vous en "
            "apporte quelques portions pour la semaine. Dites-moi juste s'il y a des allergies."
        ),
        "translations": {},
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": None,
        "helpers_needed": 2,
        "visibility": "public",
        "area_hint": "Parc Roi Baudouin side",
        "status": "open",
        "responses": [
            {
                "author": "karim",
                "kind": "comment",
                "body": (
                    "Merci Youssef ! Une dame que nous accompagnons sort de Brugmann la semaine "
                    "prochaine, je t'envoie un message."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "greet",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "language",
        "language": "nl",
        "title": "Nederlands oefenen bij een kop koffie",
        "description": (
            "Ik ben gepensioneerd en heb tijd. Wie Nederlands leert en zonder stress wil "
            "oefenen, is welkom voor een babbel aan mijn keukentafel, elke dinsdagvoormiddag. "
            "Koffie en koekjes staan klaar, fouten maken mag."
        ),
        "translations": {},
        "starts_in_days": 5,
        "start_hour": 10,
        "duration_hours": 2,
        "helpers_needed": 4,
        "visibility": "public",
        "area_hint": "Bois de Laerbeek side",
        "status": "open",
        "responses": [
            {
                "author": "karim",
                "kind": "comment",
                "body": (
                    "Mooi initiatief! Ik geef het door aan ons taalatelier, daar zijn een paar "
                    "mensen die dolgraag willen oefenen."
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "nadia",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "jette-centre",
        "category": "shopping",
        "language": "en",
        "title": "Big Saturday shop: I can bring your groceries too",
        "description": (
            "Every Saturday morning I drive to the supermarket with half my boot empty. If "
            "heavy things are hard for you (water, milk, cat litter), send me your list by "
            "Friday evening and I'll drop it at your door. You just pay back what's on the "
            "receipt."
        ),
        "translations": {},
        "starts_in_days": 4,
        "start_hour": 9,
        "duration_hours": 2,
        "helpers_needed": 3,
        "visibility": "public",
        "area_hint": "near Jette station",
        "status": "open",
        "responses": [
            {
                "author": "tom",
                "kind": "comment",
                "body": (
                    "That would be a lifesaver while my knee heals. Could you bring two packs "
                    "of water and a bag of dog food?"
                ),
                "accepted": False,
            },
        ],
    },
    {
        "kind": "offer",
        "author": "youssef",
        "organisation": None,
        "on_behalf": None,
        "neighbourhood": "dieleghem",
        "category": "transport",
        "language": "fr",
        "title": "Camionnette dispo le week-end pour vos petits déménagements",
        "description": (
            "J'ai une camionnette pour le boulot et mon patron me laisse l'utiliser le "
            "week-end. Un frigo, un matelas ou des encombrants à amener au parc à conteneurs : "
            "je peux faire un trajet dans Jette et les environs. Un petit coup de pouce pour "
            "l'essence est bienvenu, mais pas obligatoire."
        ),
        "translations": {},
        "starts_in_days": None,
        "start_hour": None,
        "duration_hours": 3,
        "helpers_needed": 1,
        "visibility": "public",
        "area_hint": None,
        "status": "open",
        "responses": [
            {
                "author": "priya",
                "kind": "comment",
                "body": (
                    "Bon à savoir ! J'ai un vieux matelas qui attend dans la cave depuis des mois."
                ),
                "accepted": False,
            },
        ],
    },
]
